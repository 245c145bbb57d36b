// The Content-Security-Policy (services/headers.py) refuses inline event handlers (onclick="…")
// and javascript: URLs. This file does their work with listeners, for the app's templates and for
// the few that Flask-Admin's own templates still carry. Loaded at the end of every admin page
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

  // Flask-Admin's templates: the handler attribute is taken off before anything can fire it, and
  // the same call is bound as a listener.
  function adopt(selector, prefix, listener) {
    document.querySelectorAll(selector).forEach(function (el) {
      var code = el.getAttribute("onclick") || "";
      if (code.indexOf(prefix) !== 0) { return; }
      el.removeAttribute("onclick");
      el.addEventListener("click", function (event) { event.preventDefault(); listener(el, code); });
    });
  }
  // The filter menu's entries: onclick="return false;" (bs4_filters.js adds the filter).
  adopt("a.filter[onclick]", "return false;", function () {});
  // "With selected" actions: onclick="return modelActions.execute('approve');".
  adopt("a[onclick]", "return modelActions.execute(", function (el, code) {
    var name = /execute\('([\w-]+)'\)/.exec(code);
    if (name && window.modelActions) { window.modelActions.execute(name[1]); }
  });
  // Inline lists (a pupil's guardians): onclick="faForm.addInlineField(this, 'guardians');".
  adopt("a[onclick]", "faForm.addInlineField(", function (el) {
    if (window.faForm) { window.faForm.addInlineField(el, el.id.replace(/-button$/, "")); }
  });
})();
