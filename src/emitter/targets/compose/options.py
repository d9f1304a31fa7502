"""The ``compose:`` key of ``stack.yaml``: options of the Compose target."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from emitter.model import Model


def _ip_address(value: str) -> str:
    """An IPv4 or IPv6 address of the host, in its canonical spelling."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(
            "not an IP address: give one of the host's addresses, e.g. 127.0.0.1, or 0.0.0.0 for every interface"
        ) from None


class ComposeWebSpec(Model):
    """How the Traefik service of the `web:` hosts gets its certificate."""

    acme_email: str | None = Field(
        default=None,
        description=(
            "Get the certificate from Let's Encrypt (ACME TLS challenge on port 443) with this "
            "contact address; the hosts must be public and resolve to the Docker host. Unset: "
            "the stack's own web CA issues it."
        ),
    )


class ComposeSpec(Model):
    """Options of the Compose target."""

    publish_address: Annotated[str, AfterValidator(_ip_address)] | None = Field(
        default=None,
        description=(
            "Host address the gateways' web ports are published on, e.g. `0.0.0.0` for every "
            "interface. Default: `127.0.0.1` with `transport: plain` (a demo link without "
            "authentication), every interface with `transport: ssl`."
        ),
    )
    mqtt_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description=(
            "Host port to publish the MQTT broker (`mqtt:`) on, for clients outside the stack "
            "(on `publish_address`, else 127.0.0.1: MQTT on 1883 is not encrypted). Default: "
            "not published; only the gateways of `mqtt.roles` reach it."
        ),
    )
    web: ComposeWebSpec | None = Field(
        default=None, description="Options of the Traefik service of the `web:` hosts."
    )


def stack_field() -> tuple[Any, Any]:
    """The key in ``StackSpec``: absent unless set."""
    return ComposeSpec | None, Field(default=None, description="Compose target options.")


def model() -> type[ComposeSpec]:
    return ComposeSpec
