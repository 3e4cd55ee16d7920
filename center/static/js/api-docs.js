// The API's interactive page: Swagger UI on this center's OpenAPI document (no inline script).
(function () {
  var target = document.getElementById("swagger-ui");
  if (!target || !window.SwaggerUIBundle) { return; }
  window.SwaggerUIBundle({
    url: target.getAttribute("data-spec-url"),
    domNode: target,
    deepLinking: true,
    persistAuthorization: false,
    tryItOutEnabled: false
  });
})();
