#!/usr/bin/env python3
"""A local stand-in for OCI Object Storage, for tests.

It serves a directory tree laid out as ROOT/<namespace>/<bucket>/<object name>
and checks every request the way OCI's API gateway does for API-key
authentication (signature version 1):

* an ``Authorization: Signature ...`` header with version, keyId, algorithm
  (rsa-sha256), headers and signature parameters;
* the signed header list covers ``date`` (or ``x-date``), ``(request-target)``
  and ``host``, and for PUT/POST/PATCH also ``content-length``,
  ``content-type`` and ``x-content-sha256``;
* the date is within 5 minutes of the server clock;
* ``x-content-sha256`` is the SHA-256 of the body actually received and
  ``content-length`` its length;
* the keyId ``<tenancy>/<user>/<fingerprint>`` names a registered public key
  (the fingerprint is computed here from the key, MD5 over the DER
  SubjectPublicKeyInfo) and the RSA-SHA256 PKCS#1 v1.5 signature verifies.

Implemented operations: GetNamespace (GET /n/), GetBucket, HeadObject,
GetObject, PutObject and ListObjects with ``prefix``/``start``/``limit``
paging (``nextStartWith``), the page size capped by --page-size so that
clients must page. Errors are OCI-shaped JSON: {"code": ..., "message": ...}
with an opc-request-id header.

Test hooks (unsigned, loopback only): POST /_standin/faults queues injected
failures, GET /_standin/log returns the requests served so far.

This file is written independently of the Rust signer; it relies only on the
``cryptography`` package (Debian: python3-cryptography).
"""

import argparse
import base64
import datetime
import email.utils
import hashlib
import json
import os
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

MAX_SKEW_SECONDS = 300
BODY_METHODS = ("PUT", "POST", "PATCH")


class StandinState:
    """Configuration and mutable state shared by request handlers."""

    def __init__(self, root, namespace, keys, page_size, clock_offset):
        self.root = root
        self.namespace = namespace
        self.keys = keys  # keyId -> public key object
        self.page_size = page_size
        self.clock_offset = clock_offset
        self.lock = threading.Lock()
        self.faults = []  # dicts: match, status, count, retry_after
        self.log = []

    def take_fault(self, method, path):
        with self.lock:
            for fault in self.faults:
                if fault["count"] > 0 and fault["match"] in path and (
                    fault.get("method") in (None, method)
                ):
                    fault["count"] -= 1
                    return dict(fault)
        return None

    def record(self, entry):
        with self.lock:
            self.log.append(entry)


def fingerprint(public_key):
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.md5(der).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def parse_authorization(value):
    """Parses 'Signature k="v",k2="v2"' into a dict; None if malformed."""
    if not value or not value.startswith("Signature "):
        return None
    params = {}
    rest = value[len("Signature ") :].strip()
    while rest:
        eq = rest.find("=")
        if eq <= 0 or len(rest) < eq + 2 or rest[eq + 1] != '"':
            return None
        name = rest[:eq].strip()
        end = rest.find('"', eq + 2)
        if end < 0:
            return None
        params[name] = rest[eq + 2 : end]
        rest = rest[end + 1 :].lstrip()
        if rest.startswith(","):
            rest = rest[1:].lstrip()
        elif rest:
            return None
    return params


class OciError(Exception):
    def __init__(self, status, code, message, extra_headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra_headers = extra_headers or {}


def not_authenticated(message):
    return OciError(401, "NotAuthenticated", message)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "oci-standin/1"
    state = None  # set in main()

    # -- plumbing -----------------------------------------------------------

    def log_message(self, fmt, *args):  # keep test output quiet
        if os.environ.get("OCI_STANDIN_VERBOSE"):
            sys.stderr.write("standin: " + (fmt % args) + "\n")

    def read_body(self):
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise OciError(400, "InvalidParameter", "Content-Length is not a number")
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, body=b"", headers=None, head_only=False):
        request_id = uuid.uuid4().hex
        self.send_response(status)
        self.send_header("opc-request-id", request_id)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head_only and body:
            self.wfile.write(body)
        self.state.record({"method": self.command, "path": self.path, "status": status})

    def send_json(self, status, obj, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        self.send(status, json.dumps(obj).encode(), h)

    def send_error_json(self, err, head_only=False):
        body = json.dumps({"code": err.code, "message": err.message}).encode()
        headers = {"Content-Type": "application/json"}
        headers.update(err.extra_headers)
        self.send(err.status, body, headers, head_only=head_only)

    def handle_any(self):
        head_only = self.command == "HEAD"
        try:
            body = self.read_body()
            if self.path.startswith("/_standin/"):
                return self.control(body)
            fault = self.state.take_fault(self.command, self.path)
            if fault:
                headers = {}
                if fault.get("retry_after") is not None:
                    headers["Retry-After"] = str(fault["retry_after"])
                raise OciError(
                    fault["status"],
                    fault.get("code", "InjectedFault"),
                    "fault injected by the test",
                    headers,
                )
            self.authenticate(body)
            self.route(body)
        except OciError as err:
            self.send_error_json(err, head_only=head_only)

    do_GET = handle_any
    do_HEAD = handle_any
    do_PUT = handle_any
    do_POST = handle_any
    do_PATCH = handle_any
    do_DELETE = handle_any

    # -- authentication -----------------------------------------------------

    def authenticate(self, body):
        params = parse_authorization(self.headers.get("Authorization"))
        if params is None:
            raise not_authenticated("Missing or malformed Authorization header")
        for required in ("version", "keyId", "algorithm", "headers", "signature"):
            if required not in params:
                raise not_authenticated(f"Authorization header lacks {required}")
        if params["version"] != "1":
            raise not_authenticated("Unsupported signature version")
        if params["algorithm"] != "rsa-sha256":
            raise not_authenticated("Unsupported signature algorithm")
        signed = params["headers"].lower().split()
        date_header = "x-date" if "x-date" in signed else "date"
        needed = [date_header, "(request-target)", "host"]
        if self.command in BODY_METHODS:
            needed += ["content-length", "content-type", "x-content-sha256"]
        missing = [h for h in needed if h not in signed]
        if missing:
            raise not_authenticated(
                "The required header(s) %s are not part of the signature" % ", ".join(missing)
            )

        lines = []
        for name in signed:
            if name == "(request-target)":
                lines.append(f"(request-target): {self.command.lower()} {self.path}")
                continue
            value = self.headers.get(name)
            if value is None:
                raise not_authenticated(f"Signed header {name} is missing from the request")
            lines.append(f"{name}: {value}")
        signing_string = "\n".join(lines)

        try:
            when = email.utils.parsedate_to_datetime(self.headers.get(date_header) or "")
        except (TypeError, ValueError):
            when = None
        if when is None or when.tzinfo is None:
            raise not_authenticated(f"The {date_header} header is not an RFC 7231 date")
        now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            seconds=self.state.clock_offset
        )
        skew = abs((now - when).total_seconds())
        if skew > MAX_SKEW_SECONDS:
            raise not_authenticated(
                "Date %s is %d seconds away from the server time; the allowed clock skew is 5 minutes"
                % (self.headers.get(date_header), skew)
            )

        if self.command in BODY_METHODS:
            if self.headers.get("content-length") != str(len(body)):
                raise not_authenticated("content-length does not match the body received")
            digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
            if self.headers.get("x-content-sha256") != digest:
                raise not_authenticated("x-content-sha256 does not match the body received")

        key = self.state.keys.get(params["keyId"])
        if key is None:
            raise not_authenticated("The keyId is not a known API key of that user")
        try:
            signature = base64.b64decode(params["signature"], validate=True)
            key.verify(signature, signing_string.encode(), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise not_authenticated("The signature does not verify")

    # -- Object Storage -----------------------------------------------------

    def route(self, body):
        parsed = urllib.parse.urlsplit(self.path)
        # Split the raw path first: %2F inside an object name must not split.
        segments = parsed.path.split("/")[1:]
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        if segments == ["n", ""] or segments == ["n"]:
            if self.command != "GET":
                raise OciError(405, "MethodNotAllowed", "GetNamespace is GET only")
            return self.send_json(200, self.state.namespace)
        if len(segments) < 4 or segments[0] != "n" or segments[2] != "b":
            raise OciError(404, "NotFound", "No such API path")
        namespace = urllib.parse.unquote(segments[1])
        bucket = urllib.parse.unquote(segments[3])
        bucket_dir = self.bucket_dir(namespace, bucket)
        if len(segments) == 4:
            if self.command != "GET":
                raise OciError(405, "MethodNotAllowed", "only GetBucket is implemented")
            return self.get_bucket(namespace, bucket, bucket_dir)
        if segments[4] != "o":
            raise OciError(404, "NotFound", "No such API path")
        if len(segments) == 5 or (len(segments) == 6 and segments[5] == ""):
            if self.command != "GET":
                raise OciError(405, "MethodNotAllowed", "ListObjects is GET only")
            return self.list_objects(bucket_dir, query)
        name = "/".join(urllib.parse.unquote(s) for s in segments[5:])
        return self.object(bucket, bucket_dir, name, body)

    def bucket_dir(self, namespace, bucket):
        path = os.path.join(self.state.root, namespace, bucket)
        if namespace != self.state.namespace or "/" in bucket or bucket in ("", ".", "..") or not os.path.isdir(path):
            raise OciError(
                404,
                "BucketNotFound",
                f"Either the bucket named '{bucket}' does not exist in the namespace "
                f"'{namespace}' or you are not authorized to access it",
            )
        return path

    def get_bucket(self, namespace, bucket, bucket_dir):
        created = datetime.datetime.fromtimestamp(
            os.stat(bucket_dir).st_mtime, datetime.timezone.utc
        ).isoformat()
        etag = hashlib.md5(bucket_dir.encode()).hexdigest()
        self.send_json(
            200,
            {
                "namespace": namespace,
                "name": bucket,
                "compartmentId": "ocid1.compartment.oc1..standin",
                "createdBy": "ocid1.user.oc1..standin",
                "timeCreated": created,
                "etag": etag,
                "storageTier": "Standard",
                "publicAccessType": "NoPublicAccess",
                "versioning": "Disabled",
            },
            {"ETag": etag},
        )

    def all_objects(self, bucket_dir):
        names = []
        for dirpath, _dirs, files in os.walk(bucket_dir):
            for f in files:
                full = os.path.join(dirpath, f)
                names.append(os.path.relpath(full, bucket_dir).replace(os.sep, "/"))
        names.sort()
        return names

    def list_objects(self, bucket_dir, query):
        prefix = query.get("prefix", [""])[0]
        start = query.get("start", [None])[0]
        try:
            limit = int(query.get("limit", ["1000"])[0])
        except ValueError:
            raise OciError(400, "InvalidParameter", "limit must be a number")
        limit = max(1, min(limit, 1000, self.state.page_size))
        fields = set(filter(None, query.get("fields", [""])[0].split(",")))
        names = [n for n in self.all_objects(bucket_dir) if n.startswith(prefix)]
        if start is not None:
            names = [n for n in names if n >= start]
        page, rest = names[:limit], names[limit:]
        objects = []
        for n in page:
            entry = {"name": n}
            st = os.stat(os.path.join(bucket_dir, n))
            if "size" in fields:
                entry["size"] = st.st_size
            if "md5" in fields:
                with open(os.path.join(bucket_dir, n), "rb") as fh:
                    entry["md5"] = base64.b64encode(hashlib.md5(fh.read()).digest()).decode()
            if "timeCreated" in fields:
                entry["timeCreated"] = datetime.datetime.fromtimestamp(
                    st.st_mtime, datetime.timezone.utc
                ).isoformat()
            objects.append(entry)
        result = {"objects": objects, "prefixes": []}
        if rest:
            result["nextStartWith"] = rest[0]
        self.send_json(200, result)

    def object(self, bucket, bucket_dir, name, body):
        parts = name.split("/")
        if not name or any(p in ("", ".", "..") for p in parts):
            raise OciError(400, "InvalidParameter", "invalid object name")
        path = os.path.join(bucket_dir, *parts)
        if self.command == "PUT":
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(body)
            md5 = hashlib.md5(body)
            return self.send(200, b"", {
                "ETag": md5.hexdigest(),
                "opc-content-md5": base64.b64encode(md5.digest()).decode(),
            })
        if self.command not in ("GET", "HEAD"):
            raise OciError(405, "MethodNotAllowed", "unsupported object method")
        if not os.path.isfile(path):
            raise OciError(
                404,
                "ObjectNotFound",
                f"The object '{name}' was not found in the bucket '{bucket}'",
            )
        with open(path, "rb") as fh:
            data = fh.read()
        md5 = hashlib.md5(data)
        headers = {
            "Content-Type": "application/octet-stream",
            "ETag": md5.hexdigest(),
            "Content-MD5": base64.b64encode(md5.digest()).decode(),
            "Last-Modified": email.utils.formatdate(os.stat(path).st_mtime, usegmt=True),
        }
        if self.command == "HEAD":
            # HEAD carries the object's length without a body.
            self.send_response(200)
            self.send_header("opc-request-id", uuid.uuid4().hex)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.state.record({"method": "HEAD", "path": self.path, "status": 200})
            return None
        return self.send(200, data, headers)

    # -- test hooks ---------------------------------------------------------

    def control(self, body):
        if self.path == "/_standin/faults" and self.command == "POST":
            fault = json.loads(body or b"{}")
            fault.setdefault("match", "")
            fault.setdefault("count", 1)
            with self.state.lock:
                self.state.faults.append(fault)
            return self.send_json(200, {"queued": fault})
        if self.path == "/_standin/log" and self.command == "GET":
            with self.state.lock:
                entries = list(self.state.log)
            return self.send_json(200, entries)
        raise OciError(404, "NotFound", "unknown control path")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True, help="directory holding <namespace>/<bucket>/...")
    ap.add_argument("--namespace", required=True)
    ap.add_argument("--host", default="127.0.0.40")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="TENANCY/USER=PUBLIC_KEY.pem",
        help="register an API key (repeatable)",
    )
    ap.add_argument("--page-size", type=int, default=3)
    ap.add_argument(
        "--clock-offset",
        type=float,
        default=0,
        help="seconds added to the server clock (simulates clock skew)",
    )
    args = ap.parse_args()

    if not args.host.startswith("127."):
        ap.error("the stand-in only listens on loopback (127.0.0.0/8)")

    keys = {}
    for spec in args.user:
        principal, _, pem_path = spec.partition("=")
        with open(pem_path, "rb") as fh:
            key = serialization.load_pem_public_key(fh.read())
        keys[f"{principal}/{fingerprint(key)}"] = key

    # Exit with the process that started us, even if it dies without
    # cleaning up (a test binary killed by a signal).
    parent = os.getppid()

    def watch_parent():
        while True:
            if os.getppid() != parent:
                os._exit(0)
            threading.Event().wait(0.5)

    threading.Thread(target=watch_parent, daemon=True).start()

    Handler.state = StandinState(args.root, args.namespace, keys, args.page_size, args.clock_offset)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    print(f"LISTENING {host} {port}", flush=True)
    for key_id in keys:
        print(f"KEY {key_id}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
