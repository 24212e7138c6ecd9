// Swagger UI, served by this Worker (no CDN), reading the document generated from the request schemas.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: true,
});
