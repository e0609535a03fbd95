"""OpenAPI description of API key authentication (loaded by AccountsConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = ["ApiKeyAuthorization", "ApiKeyHeader"]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "Api-Key <key>",
            },
            {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "<key>"},
        ]
