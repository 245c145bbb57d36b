// Quick editing in the pupils' list (admin/quick_edit.py) under the Content-Security-Policy.
// Loaded after Flask-Admin's form.js and x-editable, before the page is ready (when form.js
// turns the cells into editors).
(function ($) {
  "use strict";
  if (!$ || !$.fn.editableutils) { return; }

  // x-editable reads its data-* options (the choices of a select) through `new Function`, which the
  // policy refuses (no 'unsafe-eval'): the choices stayed a string, taken for a URL ("Loading
  // failed"). Flask-Admin writes them with json.dumps, so JSON.parse reads them.
  $.fn.editableutils.tryParseJson = function (s, safe) {
    if (typeof s === "string" && s.length && /^[\{\[].*[\}\]]$/.test(s)) {
      if (safe) {
        try { return JSON.parse(s); } catch (e) { return s; }
      }
      return JSON.parse(s);
    }
    return s;
  };

  // After a save the cell shows the server's words for the value (户口所在地: the division's name,
  // not the code typed); x-editable draws the typed value first, so this runs just after it. Its
  // "save" event does not bubble (triggerHandler): each cell gets the listener.
  $(function () {
    $("a[data-role^='x-editable']").on("save", function (event, params) {
      var cell = this;
      var shown = params && params.response && params.response.display;
      if (typeof shown === "string" && shown.length) {
        setTimeout(function () { $(cell).text(shown); }, 0);
      }
    });
  });
})(window.jQuery);
