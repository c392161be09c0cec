"""The configuration of the outcome channels: the event bus and an existing topic (part of the
one configuration model in ``config.py``, which re-exports both)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ._model import Model as _Model

_ARN = r"^arn:aws[a-z-]*:{service}:[a-z0-9-]+:\d{{12}}:{resource}$"
TOPIC_ARN = _ARN.format(service="sns", resource=r"[A-Za-z0-9_-]{1,256}(\.fifo)?")
KEY_ARN = _ARN.format(service="kms", resource=r"key/[A-Za-z0-9-]{1,128}")
BUS_ARN = _ARN.format(service="events", resource=r"event-bus/[A-Za-z0-9._/-]{1,256}")


class EventBusProps(_Model):
    """The bus outcomes go to and requests come from: ``create``, ``existing`` or ``default``."""

    mode: Literal["create", "existing", "default"] = "create"
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9._/-]{1,256}$")
    arn: str | None = Field(None, pattern=BUS_ARN)

    @model_validator(mode="after")
    def _mode(self) -> EventBusProps:
        if self.mode == "existing" and not (self.name or self.arn):
            raise ValueError("mode 'existing' needs the bus name or arn")
        if self.mode == "existing" and self.name and self.arn:
            raise ValueError("give the existing bus by name or by arn, not both")
        if self.mode == "create" and self.arn:
            raise ValueError("arn only applies to mode 'existing'")
        if self.mode == "default" and (self.name or self.arn):
            raise ValueError("mode 'default' uses the account's default bus: remove name/arn")
        if self.name == "default" and self.mode != "default":
            raise ValueError("name 'default' is the default bus: use mode 'default'")
        return self


class TopicProps(_Model):
    """An existing outcome topic by ARN (``cdk.json``); default: a topic with a rotating CMK."""

    arn: str | None = Field(None, pattern=TOPIC_ARN)
    kms_key_arn: str | None = Field(None, pattern=KEY_ARN)

    @model_validator(mode="after")
    def _key(self) -> TopicProps:
        if self.kms_key_arn and not self.arn:
            raise ValueError("kmsKeyArn only applies to an existing topic (arn)")
        return self
