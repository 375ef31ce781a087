"""The Kubernetes HTTP API: real kubectl and HTTP clients against recon.

`start_http(cluster, args)` starts an aiohttp server in a background thread
(its own event loop), writes `STATE/kubeconfig` with a fresh admin bearer
token and prints the `export KUBECONFIG=...` line; `HTTPServer.stop()` shuts
it down (open watches end).  aiohttp sets TCP_NODELAY on every connection.

Threading: handlers never touch the store from the event loop.  Reads (get,
list) run in a worker thread on the store's newest acknowledged snapshot
(`store.visible`) without any lock, so they are answered while the engine
converges.  Writes run in a worker thread holding `cluster.lock` (the lock
the live loop holds while it applies the folder or runs the engine), entered
through `cluster.gate`, which lets them in between the rounds of a long
engine run; nothing awaits while holding it.  Watches subscribe under the
lock and are fed by the store's callback through `call_soon_threadsafe`;
their encoded lines are shared between watchers (`watch.LINES`).

Convergence after a write: the request returns as soon as its write is
committed (as kube-apiserver does: controllers act afterwards); a
`Converger` thread is kicked and runs `engine.run(until=now)` under the
lock, so controllers react within milliseconds instead of at the live
loop's next tick.  Writes made while it runs are picked up by its next run.
"""

from __future__ import annotations

import asyncio
import ipaddress
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

import orjson
import yaml
from aiohttp import web

from ..apierrors import APIError, bad_request, method_not_allowed, no_such_resource, not_found
from ..errors import ReconError
from ..kinds import Registry
from ..objects import dumps
from . import apply, computed, discovery, fieldvalidation, logs, protobuf, resources, tables
from .auth import Attributes, Authenticator, User, authorized, impersonate, new_token, write_kubeconfig
from .query import TRUE
from .resources import Target
from .watch import Encoder, Subscription, error_line, stream

MAX_BODY = 3 * 1024 * 1024  # upstream's limit for a request body
VERSION = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "recon", "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.4", "compiler": "gc", "platform": "linux/amd64",
}
JSON = "application/json"


def _json(doc: Any, status: int = 200, content_type: str = JSON) -> web.Response:
    return web.Response(body=dumps(doc, sort_keys=False), status=status, content_type=None,
                        headers={"Content-Type": content_type})


def status_response(error: APIError) -> web.Response:
    """The Status of a refused request; a 422 always names its causes (kubectl prints only those).
    A Status that suggests a delay (retryAfterSeconds) also says it in a Retry-After header, as
    upstream's ErrorNegotiated does (a refused eviction: client-go's retry honours the header)."""
    error = resources.with_cause(error, "")
    response = _json(error.status(), error.code)
    retry_after = (error.details or {}).get("retryAfterSeconds") or 0
    if retry_after > 0:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _plain_error(code: int, reason: str, message: str) -> web.Response:
    return _json(APIError(reason, message, code=code).status(), code)


# ------------------------------------------------------------------ converger


class Converger:
    """Runs the engine after API writes, off the request path (coalescing kicks)."""

    def __init__(self, cluster: Any):
        self.cluster = cluster
        self._kick = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="recon-http-converge", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        self._kick.set()

    def _run(self) -> None:
        while True:
            self._kick.wait()
            self._kick.clear()
            if self._stop:
                return
            engine = self.cluster.engine
            if engine is None:
                continue
            try:
                with self.cluster.lock:
                    engine.run(until=self.cluster.clock.now())
            except Exception as exc:  # noqa: BLE001 - never let the thread die; the live loop reports too
                print(f"warning: converging after an API write failed: {exc}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        self._stop = True
        self._kick.set()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------- server


class HTTPServer:
    """The API server's HTTP face, running in a background thread."""

    def __init__(self, cluster: Any, authenticator: Authenticator, address: str = "127.0.0.1", port: int = 6443,
                 ssl_context: Any = None):
        self.cluster = cluster
        self.auth = authenticator
        self.address, self.port = address, port
        self.ssl_context = ssl_context
        self.loop = asyncio.new_event_loop()
        self.converger = Converger(cluster)
        self._stopping: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="recon-http", daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> "HTTPServer":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.address, self.port, ssl_context=self.ssl_context, reuse_address=True)
        await site.start()
        sockets = site._server.sockets if site._server is not None else ()  # type: ignore[union-attr]
        if sockets:
            self.port = sockets[0].getsockname()[1]

    def stop(self) -> None:
        """End open watches and streams, close the listener, stop the loop and the converger."""
        if not self._thread.is_alive():
            return

        async def shutdown() -> None:
            if self._stopping is not None:
                self._stopping.set()
            if self._runner is not None:
                await self._runner.cleanup()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            self.converger.stop()

    # -- request plumbing
    async def locked(self, fn: Any, *args: Any) -> Any:
        """Run `fn(*args)` in a worker thread holding the cluster's lock."""
        def call() -> Any:
            with self.cluster.gate.enter():
                return fn(*args)

        return await self.loop.run_in_executor(None, call)

    async def reading(self, fn: Any, *args: Any) -> Any:
        """Run a read in a worker thread without the cluster's lock: reads see the store's newest
        acknowledged snapshot (`store.visible`), so they are served while the engine converges."""
        return await self.loop.run_in_executor(None, fn, *args)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._handle(request)
        except APIError as exc:
            return status_response(exc)
        except web.HTTPRequestEntityTooLarge:
            return _plain_error(413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY}")
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except ReconError as exc:
            return _plain_error(400, "BadRequest", str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must answer 500, never kill the server
            # (recon's own fault, not the client's: its log says where, as kube-apiserver logs a panic)
            print(f"error: {request.method} {request.path_qs} failed: {type(exc).__name__}: {exc}\n"
                  + "".join(traceback.format_exception(exc)), file=sys.stderr, flush=True)
            return _plain_error(500, "InternalError", f"Internal error occurred: {type(exc).__name__}: {exc}")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"].strip("/")
        snapshot = self.cluster.store.head
        user = self.auth.authenticate(request.headers.get("Authorization"), snapshot)
        if user is None:
            return _plain_error(401, "Unauthorized", "Unauthorized")
        user = impersonate(snapshot, user, request.headers)
        parts = [p for p in path.split("/") if p]
        registry = Registry.for_snapshot(snapshot)
        target = resources.parse_path(registry, parts) if request.method in _RESOURCE_METHODS else None
        if target is None:
            asked = _resource_attributes(request, parts) if request.method in _RESOURCE_METHODS else None
            if asked is not None:  # a resource request for a resource not served: authorized, then a 404
                if not authorized(snapshot, user, asked):
                    raise _forbidden_resource(user, asked)
            elif not authorized(snapshot, user, Attributes(request.method.lower(), path=path)):
                return _forbidden_path(user, request.method.lower(), path)
            return self._non_resource(request, path, parts, registry)
        verb = _verb(request, target)
        attributes = Attributes(verb, target.group, target.rt.plural, target.subresource, target.namespace,
                                target.name)
        if not authorized(snapshot, user, attributes):
            from ..access import forbidden

            raise forbidden(resources.actor_of(user), verb, target.rt, target.namespace or None,
                            target.name or None, target.subresource or None)
        _check_served(target, verb)
        return await self._resource(request, user, target, verb, path)

    def _non_resource(self, request: web.Request, path: str, parts: list[str], registry: Registry) -> web.Response:
        """Discovery, OpenAPI, version and health documents. A path that serves none is a 404
        whatever the method (an unknown resource included, as upstream); one that serves a
        document is a 405 to anything but GET."""
        response = self._document(request, path, parts, registry)
        if response is None:
            return _plain_error(404, "NotFound", "the server could not find the requested resource")
        if request.method != "GET":
            raise method_not_allowed()
        return response

    def _document(self, request: web.Request, path: str, parts: list[str], registry: Registry) -> web.Response | None:
        accept = request.headers.get("Accept", "")
        if path == "/version":
            return _json(VERSION)
        if parts[:1] in (["healthz"], ["livez"], ["readyz"]):
            return _health(parts, request.query)
        if path in ("/api", "/apis") and "as=APIGroupDiscoveryList" in accept and "v=v2;" in accept + ";":
            return _json(discovery.aggregated(registry, core=path == "/api"), content_type=discovery.AGGREGATED)
        if path == "/api":
            return _json(discovery.api_versions(f"{request.host}"))
        if path == "/apis":
            return _json(discovery.group_list(registry))
        doc: Any = None
        if parts[:1] == ["api"] and len(parts) == 2:
            doc = discovery.resource_list(registry, "", parts[1])
        elif parts[:1] == ["apis"] and len(parts) == 2:
            doc = discovery.group(registry, parts[1])
        elif parts[:1] == ["apis"] and len(parts) == 3:
            doc = discovery.resource_list(registry, parts[1], parts[2])
        elif path == "/openapi/v2":  # (a swagger document without definitions: see discovery.OPENAPI_V2)
            if "protobuf" in accept:
                return web.Response(body=discovery.OPENAPI_V2_PROTOBUF, content_type=discovery.OPENAPI_V2_PROTOBUF_TYPE)
            doc = discovery.OPENAPI_V2
        elif path == "/openapi/v3":
            doc = discovery.openapi_root(registry)
        elif parts[:2] == ["openapi", "v3"] and len(parts) in (4, 5):
            rest = parts[2:]
            group, version = ("", rest[1]) if rest[0] == "api" else (rest[1], rest[2] if len(rest) > 2 else "")
            doc = discovery.openapi_group_version(registry, group, version)
        return None if doc is None else _json(doc)

    async def _resource(self, request: web.Request, user: User, target: Target, verb: str,
                        path: str) -> web.StreamResponse:
        query = dict(request.query)
        api = self.cluster.api
        if verb == "watch":
            return await self._watch(request, user, target, query)
        if target.subresource == "log":
            return await self._logs(request, user, target, query)
        if computed.is_computed(target.rt):
            return self._computed(request, target, verb)
        if verb == "get":
            obj = await self.reading(resources.get, api, user, target, query)
            if tables.wants_table(request.headers.get("Accept", "")):  # also --subresource=scale|status
                meta = {"resourceVersion": (obj.get("metadata") or {}).get("resourceVersion", "")}
                return _json(tables.table(target.rt, [obj], self.cluster.clock.now(), meta,
                                          query.get("includeObject") or "Metadata",
                                          subresource=target.subresource, version=target.version))
            return _json(obj)
        if verb == "list":
            # (a continue token or an exact resourceVersion reads the store's recent window)
            read = self.locked if query.get("continue") or resources.reads_window(query) else self.reading
            items, meta = await read(resources.list_objects, api, user, target, query)
            if tables.wants_table(request.headers.get("Accept", "")):
                now = self.cluster.clock.now()
                return _json(resources.table_document(target, items, meta, now, query))
            return _json(resources.list_document(target, items, meta))
        body = await _body(request, verb)
        if target.rt is discovery.SSAR:
            return _json(await self.locked(resources.access_review, self.cluster.store.head, user, body), 201)
        if target.rt is discovery.SSRR:
            return _json(await self.reading(resources.rules_review, self.cluster.store.head, user, body), 201)
        if target.rt is discovery.SSR:
            return _json(resources.self_subject_review(user, body), 201)
        if target.subresource == "token" and verb == "create":
            now = self.cluster.clock.now()
            return _json(await self.reading(resources.token_request, api, user, target, body, now, self.auth.seed), 201)
        if target.subresource == "eviction":
            code, result = await self.locked(self._now, resources.evict, api, user, target, body, query, path)
            self.converger.kick()
            return _json(result, code)
        warnings: list[str] = []
        if verb == "patch":
            resources.check_patch_document(resources.PATCH_TYPES[_content_type(request)], body)
        if verb in ("create", "update", "patch"):
            checked_patch = resources.PATCH_TYPES.get(_content_type(request)) if verb == "patch" else None
            if verb != "patch" or checked_patch in ("merge", "strategic", "json"):
                body, warnings = fieldvalidation.check(target.rt, target.version, target.subresource, body, query,
                                                       checked_patch)
        patch_type = resources.PATCH_TYPES[_content_type(request)] if verb == "patch" else None
        manager = apply.field_manager(query, request.headers.get("User-Agent", ""), verb, patch_type)
        if verb == "create":
            result = await self.locked(resources.create, api, user, target, body, query, path, manager)
            code = 201
        elif verb == "update":
            result = await self.locked(resources.update, api, user, target, body, query, path, manager)
            code = 200
        elif verb == "patch":
            result, created = await self.locked(_patch, api, user, target, body, patch_type, query, path, manager)
            code = 201 if created else 200  # server-side apply may create: 201 Created, as upstream
        else:
            result = await self.locked(resources.delete, api, user, target, body, query, path)
            code = 200
        self.converger.kick()
        response = _json(result, code)
        for warning in warnings:
            response.headers.add("Warning", fieldvalidation.warning_header(warning))
        return response

    def _computed(self, request: web.Request, target: Target, verb: str) -> web.Response:
        """A get or list of a kind computed on each read (ComponentStatus, APIService)."""
        snapshot = self.cluster.store.head
        engine = getattr(self.cluster, "engine", None)
        components = [c.name for c in engine.rules.components] if engine is not None else []
        items = computed.objects(target.rt, snapshot, discovery.served(Registry.for_snapshot(snapshot)), components)
        if verb == "get":
            items = [o for o in items if o["metadata"]["name"] == target.name]
            if not items:
                raise not_found(target.rt.resource, target.name, target.group)
        if tables.wants_table(request.headers.get("Accept", "")):
            response = _json(tables.table(target.rt, items, self.cluster.clock.now(), {}))
        elif verb == "get":
            response = _json(items[0])
        else:
            response = _json({"kind": target.rt.list_kind, "apiVersion": target.rt.api_version, "metadata": {},
                              "items": items})
        if target.rt is computed.COMPONENT_STATUS:
            response.headers.add("Warning", fieldvalidation.warning_header(computed.COMPONENT_STATUS_WARNING))
        return response

    async def _watch(self, request: web.Request, user: User, target: Target,
                     query: dict[str, str]) -> web.StreamResponse:
        sub = Subscription(self.cluster, user, target, query, self.loop)
        response = web.StreamResponse(headers={"Content-Type": JSON, "Transfer-Encoding": "chunked"})
        try:
            await self.locked(sub.open)
        except APIError as exc:
            sub.close()
            if exc.code != 410:
                raise
            await response.prepare(request)
            expired = APIError("Expired", exc.message, code=410)
            await response.write(error_line(expired))
            return response
        encoder = Encoder(target, query, tables.wants_table(request.headers.get("Accept", "")), self.cluster.clock)
        try:
            await response.prepare(request)
            assert self._stopping is not None
            await stream(response, sub, encoder, query, self._stopping)
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            sub.close()
        return response

    def _now(self, fn: Any, *args: Any) -> Any:
        """`fn(*args, now)`, the clock read once the caller holds the lock."""
        return fn(*args, self.cluster.clock.now())

    async def _logs(self, request: web.Request, user: User, target: Target,
                    query: dict[str, str]) -> web.StreamResponse:
        """A container's log (see logs.py); with `follow`, then the lines it writes later, until the
        container stops, the pod is gone, the byte limit is reached or the server stops."""
        api = self.cluster.api
        options = logs.log_options(query, target.name, self.cluster.clock.now())
        first, seen, runs = await self.locked(self._now, logs.read, api, user, target, options)
        if not options.follow or options.previous or not runs:  # a stopped instance writes no more
            return web.Response(body=first, content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain", "Transfer-Encoding": "chunked"})
        await response.prepare(request)
        budget = None if options.limit is None else options.limit - len(first)
        try:
            await response.write(first)
            assert self._stopping is not None
            while not self._stopping.is_set() and budget != 0 and runs:
                await asyncio.sleep(0.5)
                try:
                    lines, seen, runs = await self.locked(self._now, logs.written_since, api, user, target,
                                                          options, seen)
                except APIError:
                    break  # the pod is gone
                chunk = logs.encode(lines, options.timestamps, budget)
                if chunk:
                    await response.write(chunk)
                    budget = None if budget is None else budget - len(chunk)
        except (ConnectionResetError, ConnectionError):
            pass
        return response


_RESOURCE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _verb(request: web.Request, target: Target) -> str:
    method = request.method
    if method == "GET":
        if request.query.get("watch") in TRUE:
            return "watch"
        return "get" if target.name else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    return "delete" if target.name else "deletecollection"


# kube-apiserver's health checks, each of which recon passes while it serves (the store is in the
# process, the informers are the engine's own, the bootstrap roles are made at start)
_CHECKS = {
    "healthz": ("ping", "log", "etcd", "poststarthook/rbac/bootstrap-roles"),
    "livez": ("ping", "log", "etcd", "poststarthook/rbac/bootstrap-roles"),
    "readyz": ("ping", "log", "etcd", "etcd-readiness", "informer-sync", "poststarthook/rbac/bootstrap-roles",
               "shutdown"),
}


def _health(parts: list[str], query: Any) -> web.Response | None:
    """/healthz, /livez, /readyz as kube-apiserver answers them: `ok`; with ?verbose each check and
    the verdict; /readyz/CHECK one check (a 404 for a check it does not have)."""
    endpoint, checks = parts[0], _CHECKS[parts[0]]
    if len(parts) > 1:
        return web.Response(text="ok") if "/".join(parts[1:]) in checks else None
    if "verbose" not in query:
        return web.Response(text="ok")
    excluded = set(query.getall("exclude", ()))
    lines = [f"[+]{c} excluded: ok" if c in excluded else f"[+]{c} ok" for c in checks]
    return web.Response(text="\n".join([*lines, f"{endpoint} check passed"]) + "\n")


_NO_PROCESS = "recon simulates containers, so there is no process to "
_SIMULATED = {
    ("Pod", "exec"): _NO_PROCESS + "run a command in",
    ("Pod", "attach"): _NO_PROCESS + "attach to",
    ("Pod", "portforward"): _NO_PROCESS + "forward a port to",
    ("Pod", "proxy"): _NO_PROCESS + "proxy to",
    ("Service", "proxy"): _NO_PROCESS + "proxy to",
    ("Node", "proxy"): "recon simulates nodes, so there is no kubelet to proxy to",
}


def _check_served(target: Target, verb: str) -> None:
    """404 for a subresource the type does not have (exec, attach, eviction, ...); 405 for a verb
    the resource or subresource does not take (a GET of an access review, a POST to status)."""
    if target.subresource and target.subresource not in discovery.subresources(target.rt):
        unserved = _SIMULATED.get((target.rt.kind, target.subresource))
        if unserved:  # upstream serves it; here there is nothing behind it, and the reply says so
            raise bad_request(f"{target.rt.plural}/{target.subresource} is not supported: {unserved}")
        raise no_such_resource()
    allowed = (discovery.SUB_VERBS.get(target.subresource, ["get"]) if target.subresource
               else discovery.verbs(target.rt))
    if verb not in allowed:
        raise method_not_allowed()


def _resource_attributes(request: web.Request, parts: list[str]) -> Attributes | None:
    """What upstream's RequestInfoFactory reads from a path it takes for a resource request
    (`/api/V/...`, `/apis/G/V/...`, with at least a resource), whether or not the resource is
    served: the authorizer sees it as such before any 404. None for a non-resource path."""
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, rest = parts[1], parts[3:]
    else:
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in ("status", "finalize"):  # else the namespace itself
            rest = rest[2:]
    resource, name, sub = (rest + ["", ""])[:3]
    verb = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[request.method]
    if not name and verb == "get":
        verb = "watch" if request.query.get("watch") in TRUE else "list"
    elif not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(verb, group, resource, sub, namespace, name)


def _forbidden_resource(user: User, asked: Attributes) -> APIError:
    """responsewriters.Forbidden for a resource request (upstream's forbiddenMessage)."""
    from ..apierrors import forbidden_error

    resource = f"{asked.resource}/{asked.subresource}" if asked.subresource else asked.resource
    scope = f'in the namespace "{asked.namespace}"' if asked.namespace else "at the cluster scope"
    why = f'User "{user.name}" cannot {asked.verb} resource "{resource}" in API group "{asked.group}" {scope}'
    qualified = f"{asked.resource}.{asked.group}" if asked.group else asked.resource
    return forbidden_error(qualified, asked.name or None, why, group=asked.group)


def _forbidden_path(user: User, verb: str, path: str) -> web.Response:
    return _plain_error(403, "Forbidden", f'forbidden: User "{user.name}" cannot {verb} path "{path}"')


def _content_type(request: web.Request) -> str:
    return request.headers.get("Content-Type", "").split(";")[0].strip().lower()


def _patch(api: Any, user: Any, target: Any, body: Any, patch_type: str, query: Any, path: str,
           manager: str | None) -> tuple[Any, bool]:
    """resources.patch, and whether it created the object (only an apply can)."""
    key = (*target.stored, target.namespace or "", target.name)
    created = patch_type == "apply" and not target.subresource and api.store.head.get(key) is None
    result = resources.patch(api, user, target, body, patch_type, query, path, manager)
    return result, created


async def _body(request: web.Request, verb: str) -> Any:
    """The request body: JSON (also when no Content-Type is sent), YAML, or a patch of a known type."""
    if verb == "delete" or verb == "deletecollection":
        raw = await request.read()
        if raw.strip() and _content_type(request) == protobuf.CONTENT_TYPE:
            return protobuf.decode_object(raw)
        try:
            return orjson.loads(raw) if raw.strip() else None
        except orjson.JSONDecodeError as exc:
            raise bad_request(f"the request body is not valid JSON: {exc}") from None
    raw = await request.read()
    ctype = _content_type(request)
    if ctype == protobuf.CONTENT_TYPE and verb != "patch":
        return protobuf.decode_object(raw)
    if verb == "patch" and ctype not in resources.PATCH_TYPES:
        raise APIError("UnsupportedMediaType", f"the body of the request was in an unknown format - accepted "
                       f"media types include: {', '.join(resources.PATCH_TYPES)}", code=415)
    if ctype not in ("", "application/json", "application/yaml", "application/apply-patch+yaml", "*/*") \
            and ctype not in resources.PATCH_TYPES:
        raise APIError("UnsupportedMediaType", "the body of the request was in an unknown format - accepted "
                       "media types include: application/json, application/yaml", code=415)
    try:
        if ctype in ("application/yaml", "application/apply-patch+yaml"):
            return yaml.load(raw, Loader=yaml.CSafeLoader)
        return orjson.loads(raw) if raw.strip() else None
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise bad_request(f"the request body is not valid {'YAML' if 'yaml' in ctype else 'JSON'}: {exc}") from None


# ------------------------------------------------------------------- start


def start_http(cluster: Any, args: Any) -> HTTPServer:
    """Start serving the API for `recon up --serve`; write the kubeconfig and print how to use it."""
    state = Path(args.state)
    token = new_token()
    ssl_context, ca_file = None, None
    if getattr(args, "tls", False):
        from .certs import server_ssl_context

        ssl_context, ca_file = server_ssl_context(state, args.address)
    loopback = ipaddress.ip_address(args.address).is_loopback if _is_ip(args.address) else args.address == "localhost"
    authenticator = Authenticator(token, cluster.api.seed, insecure_loopback=ssl_context is None and loopback,
                                  clock=cluster.clock.now)
    server = HTTPServer(cluster, authenticator, args.address, args.port, ssl_context)
    server.start()
    kubeconfig = write_kubeconfig(state / "kubeconfig", server.url, token, ca_file)
    if not getattr(args, "quiet", False):  # (`recon up -q`: errors only; the kubeconfig is where it always is)
        print(f"serving the Kubernetes API at {server.url}", flush=True)
        print(f"export KUBECONFIG={kubeconfig.resolve()}", flush=True)
    return server


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
