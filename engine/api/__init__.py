"""The Kubernetes HTTP API: real kubectl and HTTP clients against recon.

http.py (server, routing, streaming) → resources.py (the handlers) →
the apiserver; logs.py (pods/NAME/log), discovery.py (discovery and OpenAPI
documents), tables.py (Table output), watch.py (watch streams), auth.py
(tokens, kubeconfig, RBAC), certs.py (--tls), query.py (query-string values);
the built-in kinds' schemas are read by engine/schemas.py.
"""
