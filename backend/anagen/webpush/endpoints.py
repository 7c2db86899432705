"""Which push endpoints the server will call: https, a DNS name, port 443.

A subscription's endpoint is a URL the browser hands over, and the server then POSTs to it:
without limits a forged subscription makes the server call anything it can reach. So an
endpoint is accepted only as `https://<DNS name>[:443]/...`: IP literals (in any spelling),
names that are local by definition (`localhost`, `.local`, `.internal`...) and other ports
are refused at registration, and the name's addresses are checked again right before
connecting (transport.public_addresses: loopback, private, link-local refused), since
what a name points to can change after registration. The local-test mode (PUSH_ALLOW_HTTP)
admits the local test push service: http, IP literals, any port, private addresses.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan", ".intranet")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+))*\.?$")


def endpoint_problem(endpoint: str, local_test: bool = False) -> str | None:
    """Why the server will not call this endpoint, or None when it will."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
        host = (parts.hostname or "").lower()
    except ValueError:
        return "Must be a valid URL"
    scheme = parts.scheme.lower()
    if local_test:
        return None if scheme in ("https", "http") and host else "Must be an http(s) URL"
    if scheme != "https":
        return "Must be https"
    if parts.username or parts.password:
        return "Must not carry credentials"
    if port not in (None, 443):
        return "Must use the https port (443)"
    if not host:
        return "Must name a host"
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    else:
        return "Must name the push service, not an IP address"
    if _NUMERIC_HOST.match(host):  # 2130706433, 0x7f.1: IPv4 spellings resolvers accept
        return "Must name the push service, not an IP address"
    name = host.rstrip(".")
    labels = name.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return "Must be a public DNS name"
    if name == "localhost" or name.endswith(_LOCAL_SUFFIXES):
        return "Must be a public DNS name"
    return None
