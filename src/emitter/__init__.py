"""ignition-stack: one stack.yaml of Ignition gateways, lowered to Docker Compose or Kubernetes."""

__version__ = "0.1.0"
