/* Starts Swagger UI on /api/v1/docs. Requests made from the page use the browser's session,
   so unsafe methods carry the CSRF token, as the web UI's own forms do. */
(function () {
  "use strict";
  var csrfToken = document.body.dataset.csrfToken;
  var config = JSON.parse(document.getElementById("swagger-settings").textContent);
  config.dom_id = "#swagger-ui";
  config.presets = [SwaggerUIBundle.presets.apis];
  config.requestInterceptor = function (req) {
    var method = (req.method || "GET").toUpperCase();
    if (csrfToken && ["GET", "HEAD", "OPTIONS", "TRACE"].indexOf(method) === -1) {
      req.headers["X-CSRFToken"] = csrfToken;
    }
    return req;
  };
  window.ui = SwaggerUIBundle(config);
})();
