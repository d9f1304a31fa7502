"""The base of every stack-file model, the targets' options included: unknown keys are errors."""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)
