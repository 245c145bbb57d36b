// Masked ID numbers (issue 13, point 4): a "显示" button next to a masked number posts to the
// reveal endpoint (with the page's CSRF token), which records the view in the audit log and answers
// the full number; the masked text is then swapped for it. A static file with data- attributes,
// no inline script or onclick, so that a Content-Security-Policy without inline scripts allows it.
(function () {
  "use strict";
  function token() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-reveal-url]") : null;
    if (!button) { return; }
    event.preventDefault();
    var holder = button.parentNode.querySelector("[data-masked-id]");
    button.disabled = true;
    fetch(button.getAttribute("data-reveal-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token(), "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (data) {
      if (holder) { holder.textContent = data.number; }
      button.parentNode.removeChild(button);
    }).catch(function () {
      button.disabled = false;
    });
  });
})();
