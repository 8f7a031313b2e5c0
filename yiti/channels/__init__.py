"""Outbound channels behind one adapter interface: e-mail, SMS, web push and the portal inbox.

``adapter_for(channel).send(OutboundMessage(...))`` returns a :class:`SendResult`; every
adapter is safe to retry with the same idempotency key (see :mod:`yiti.channels.base`).
"""
