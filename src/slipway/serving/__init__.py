"""The scoring server: one lean process per endpoint, serving one model directory.

It needs a model directory, a config directory and a log directory, nothing
else: no database, no control-plane call in the request path. The control
plane (registry, ``slipway deploy``, endpoint state, key storage, CLI) starts
it as a subprocess and talks to it only through files.

Starting it
-----------
::

    python -m slipway.serving --model-dir D --config-dir C [--log-dir L] \\
        --host 127.0.0.1 --port P --workers N [--ready-timeout 300]

- ``D``: a Slipway model directory (:mod:`slipway.core.model_dir`); only
  directories whose hash the registry has checked (``model.pkl`` is code).
- ``C``: the endpoint's config directory (below); ``L`` defaults to ``C``.
- N uvicorn workers (uvloop + httptools) share the socket; the parent
  restarts a worker that dies and never loads the model itself.
- Exit codes: 0 after SIGTERM/SIGINT (graceful), 2 when ``D`` has no model,
  3 when a worker cannot start (uvicorn's startup failure, e.g. a broken
  model). Stop it with SIGTERM to the parent pid.

Readiness: ``<L>/ready.json`` appears once every worker has loaded, compiled,
checked and warmed up the model and the port answers, e.g.
``{"pid": 123, "url": "http://127.0.0.1:8001", "workers": [{"pid": 124,
"fast_path": true, "reason": "..."}], "model_dir": "...", "ready_at": 1.8e9}``.
It is removed on exit; a stale file from a killed parent is removed at the
next start. ``GET /v2/health/ready`` answers 200 only from a warmed worker.
The control plane moves the endpoint Transitioning -> Healthy when the file
appears, and to Failed if the process exits first (stderr and
``<L>/server.log`` say why).

The config directory (written by the control plane, read by every worker)
--------------------------------------------------------------------------
``endpoint.json`` (:class:`~slipway.serving.config.EndpointConfig`)::

    {"name": "bank-endpoint", "auth": "key" | "token" | "none",
     "monitoring": false, "max_rows": 100000, "max_body_bytes": 67108864,
     "body_timeout_s": 30.0, "token_audience": null, "token_issuer": null,
     "token_leeway_s": 30.0, "fast_path": true, "fast_path_check_every": 10000}

``keys.json`` (auth=key): ``{"primary": {"sha256": hex}, "secondary":
{"sha256": hex}}`` -- hashes only; the control plane shows the keys once and
keeps them encrypted on its side. ``token_public_key.pem`` (auth=token): the
workspace's RSA (RS256) or Ed25519 (EdDSA) public key -- or several PEM
blocks, current first, then keys being rotated out whose tokens have not
expired yet (a token verified by any of them is accepted); tokens need ``exp``
and ``aud`` = ``token_audience`` or the endpoint name (and ``iss`` when
``token_issuer`` is set).

Write them with :func:`~slipway.serving.config.write_endpoint_config`,
:func:`~slipway.serving.config.update_endpoint_config` (e.g.
``monitoring=True``), :func:`~slipway.serving.config.write_keys` (e.g.
``write_keys(C, primary=new_key)`` to regenerate) and
:func:`~slipway.serving.config.write_token_public_key`. They replace files
atomically. Each worker stats ``endpoint.json`` and (for key/token auth) the
key file on every request and re-reads a file when it changed, so a
regenerated key stops working, and a monitoring or auth change applies, on
the very next request in every worker, with no restart. Only
``max_rows``-style limits, ``auth``, ``monitoring`` and token settings are
live; ``fast_path`` settings apply when a worker starts.

The log directory (written by the server, read by the control plane)
--------------------------------------------------------------------
- ``requests.jsonl``: one JSON line per request -- ``time``, ``ts``,
  ``request_id`` (also the ``x-request-id`` response header), ``method``,
  ``path``, ``status``, ``latency_ms``, ``rows``, ``client``, ``worker``,
  ``error`` (code) on failures; never headers, keys, tokens or data.
  ``slipway endpoints logs`` reads it with
  :func:`~slipway.serving.requestlog.read_log`; per-minute requests,
  failures and p50/p95/p99 come from
  :func:`~slipway.serving.monitoring.summarize`.
- ``server.log``: start-up, fast-path decisions (and why it is off),
  config reloads, unexpected errors with their request id.
- ``ready.json`` and ``.workers/<pid>`` markers (above).

HTTP API
--------
``POST /score`` ``{"data": [{column: value}]}`` -> ``{"result": [label or
number]}``; ``{"Inputs": {"data": [...]}, "GlobalParameters": {"method":
"predict_proba"}}`` -> ``{"Results": [{class: probability}, ...]}`` (one
object per row, keys are the class labels as strings). ``GET /`` (health),
``GET /swagger.json`` (OpenAPI 3.0 from the signature), ``GET /docs``
(Swagger UI from the ``swagger-ui-bundle`` package, offline), ``GET
/metrics`` (Prometheus text, when monitoring is on; needs the endpoint's
credentials), and the open inference protocol v2: ``GET /v2/health/ready``,
``GET /v2/health/live``, ``GET /v2/models/<name>``, ``POST
/v2/models/<name>/infer``. CORS is open (``*``). Every error is
``{"error": {"code", "message", "hint"?}}``; 401 carries
``WWW-Authenticate: Bearer``.
"""
