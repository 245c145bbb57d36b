// The Content-Security-Policy (services/headers.py) refuses inline event handlers (onclick="…")
// and javascript: URLs. This file does their work with listeners, for the app's templates and for
// Flask-Admin's (the ones that carried handlers are copied into templates/admin/). Loaded at the end of every admin page
// (templates/admin/master.html), after the page's markup.
(function () {
  "use strict";

  // A link that only exists to be clicked by a script ("javascript:void(0)"): never navigate, or
  // the browser would report a refused javascript: URL.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest('a[href^="javascript:"]');
    if (link) { event.preventDefault(); }
  }, true);

  // A submit button that sends its form once and then disables itself (no double submission);
  // the app's templates mark it with data-submit-once.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-submit-once]");
    if (!button || !button.form || button.disabled) { return; }
    event.preventDefault();
    button.form.submit();
    button.disabled = true;
  });

  // Flask-Admin's templates that carried handlers are copied into templates/admin/ with data
  // attributes instead (the browser reports an inline handler as soon as it parses it).
  // "With selected" actions (admin/actions.html): data-action="approve".
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-action]");
    if (!link) { return; }
    event.preventDefault();
    if (window.modelActions) { window.modelActions.execute(link.getAttribute("data-action")); }
  });
  // Inline lists, e.g. a pupil's guardians (admin/model/inline_list_base.html): data-inline-add.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-inline-add]");
    if (!link) { return; }
    event.preventDefault();
    if (window.faForm) { window.faForm.addInlineField(link, link.getAttribute("data-inline-add")); }
  });
})();
