// Scimitar console: the one script of our own. htmx requests carry the session's CSRF token
// as a header (forms also carry it as a field, so everything works without JavaScript).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
  }
});
