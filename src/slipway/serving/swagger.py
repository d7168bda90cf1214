"""The OpenAPI document (from the model signature) and the offline Swagger UI page.

The request schema lists the signature's columns with their types, the
example is the signature's example request, the security scheme follows the
endpoint's auth mode and every error response uses the one error envelope.
Swagger UI assets come from the ``swagger-ui-bundle`` package, so ``/docs``
works without a network.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from slipway.core.model_dir import Signature
from slipway.serving.config import EndpointConfig

_ERROR = {"$ref": "#/components/schemas/Error"}
_UI_FILES = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "application/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


def _column_schema(spec: Any) -> dict[str, Any]:
    if spec.type == "numeric":
        out: dict[str, Any] = {"type": "number"}
    elif spec.type == "boolean":
        out = {"type": "boolean"}
    elif spec.type == "datetime":
        out = {"type": "string", "format": "date-time"}
    else:
        out = {"type": "string"}
        if spec.categories:
            shown = ", ".join(str(c) for c in spec.categories[:20])
            more = " ..." if len(spec.categories) > 20 else ""
            out["description"] = f"values seen in training: {shown}{more}; others are scored too"
    out["nullable"] = True
    return out


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def build_openapi(sig: Signature, config: EndpointConfig, classes: list[Any],
                  model_name: str) -> dict[str, Any]:
    record = {
        "type": "object",
        "properties": {c.name: _column_schema(c) for c in sig.inputs},
        "required": sig.input_names,
        "additionalProperties": True,
        "description": "one row of input; columns the model does not use are ignored",
    }
    label: dict[str, Any] = ({"type": "number"} if sig.task == "regression" else
                             {"oneOf": [{"type": "string"}, {"type": "number"},
                                        {"type": "boolean"}]})
    proba_row = {"type": "object", "additionalProperties": {"type": "number"},
                 "description": "class -> probability, for the classes "
                                + ", ".join(str(c) for c in classes)}
    schemas: dict[str, Any] = {
        "ScoringRecord": record,
        "ScoringRequest": {
            "type": "object", "required": ["data"],
            "properties": {"data": {"type": "array", "minItems": 1, "maxItems": config.max_rows,
                                    "items": {"$ref": "#/components/schemas/ScoringRecord"}}},
            "example": {"data": sig.example},
        },
        "ScoringResponse": {"type": "object",
                            "properties": {"result": {"type": "array", "items": label}}},
        "ServiceRequest": {
            "type": "object", "required": ["Inputs"],
            "properties": {
                "Inputs": {"type": "object", "required": ["data"], "properties": {
                    "data": {"type": "array",
                             "items": {"$ref": "#/components/schemas/ScoringRecord"}}}},
                "GlobalParameters": {"type": "object", "properties": {
                    "method": {"type": "string", "enum": ["predict", "predict_proba"]}}},
            },
            "example": {"Inputs": {"data": sig.example},
                        "GlobalParameters": {"method": "predict_proba"}},
        },
        "ServiceResponse": {"type": "object", "properties": {"Results": {
            "type": "array", "items": {"oneOf": [label, proba_row]}}}},
        "Error": {
            "type": "object", "required": ["error"],
            "properties": {"error": {"type": "object", "required": ["code", "message"],
                                     "properties": {"code": {"type": "string"},
                                                    "message": {"type": "string"},
                                                    "hint": {"type": "string"}}}},
            "example": {"error": {"code": "missing_column",
                                  "message": "row 0 is missing column 'age'",
                                  "hint": "the model needs the columns: ..."}},
        },
    }
    security: list[dict[str, list[str]]] = []
    schemes: dict[str, Any] = {}
    if config.auth == "key":
        schemes["key"] = {"type": "http", "scheme": "bearer",
                          "description": "the endpoint's primary or secondary key"}
        security = [{"key": []}]
    elif config.auth == "token":
        schemes["token"] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                            "description": f"a workspace token with audience {config.audience!r}"}
        security = [{"token": []}]
    errors = {"400": _error_response("invalid input (the message names the row and column)"),
              "401": _error_response("missing or wrong credentials"),
              "413": _error_response(f"more than {config.max_rows} rows or too large a body"),
              "422": _error_response("the model could not score the rows")}

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    score = {"post": {
        "summary": "score rows", "security": security,
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"oneOf": [ref("ScoringRequest"), ref("ServiceRequest")]},
            "examples": {
                "records": {"summary": "predictions",
                            "value": schemas["ScoringRequest"]["example"]},
                "probabilities": {"summary": "class probabilities",
                                  "value": schemas["ServiceRequest"]["example"]}}}}},
        "responses": {"200": {"description": "scores", "content": {"application/json": {
            "schema": {"oneOf": [ref("ScoringResponse"), ref("ServiceResponse")]}}}},
            **errors}}}

    health = {"get": {"summary": "health", "security": [],
                      "responses": {"200": {"description": "the endpoint is healthy"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": f"{config.name} scoring endpoint", "version": "1.0",
                 "description": f"Scores {model_name} ({sig.task}). POST rows to /score as "
                                '{"data": [...]}; {"Inputs": ..., "GlobalParameters": '
                                '{"method": "predict_proba"}} answers {"Results": [{class: '
                                "probability}, ...]}. Errors are {\"error\": {\"code\", "
                                '"message", "hint"}}.'},
        "paths": {
            "/": health,
            "/score": score,
            "/v2/health/ready": health,
            "/v2/health/live": health,
        },
        "components": {"schemas": schemas, "securitySchemes": schemes},
        "security": security,
    }


def ui_dir() -> Path | None:
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def ui_asset(name: str) -> tuple[bytes, str] | None:
    """(content, content type) of a whitelisted Swagger UI file, or None."""
    root = ui_dir()
    if name not in _UI_FILES or root is None or not (root / name).is_file():
        return None
    return (root / name).read_bytes(), _UI_FILES[name]


def docs_page(title: str) -> bytes:
    title = html.escape(title)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="swagger-ui/swagger-ui.css">
<link rel="icon" type="image/png" href="swagger-ui/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="swagger-ui/swagger-ui-bundle.js"></script>
<script src="swagger-ui/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({{url: "swagger.json", dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"}});
</script></body></html>
""".encode()
