from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="PoolStats")



@_attrs_define
class PoolStats:
    """ The deployment guide's `pool-stats`, plus the platform. For pool platforms the counts
    are slots; for process and task platforms `total` is the capacity limit, `busy` the
    active bots and `idle` the rest.

        Attributes:
            busy (int):
            error (int):
            idle (int):
            platform (str):
            queue_length (int):
            total (int):
     """

    busy: int
    error: int
    idle: int
    platform: str
    queue_length: int
    total: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        busy = self.busy

        error = self.error

        idle = self.idle

        platform = self.platform

        queue_length = self.queue_length

        total = self.total


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "busy": busy,
            "error": error,
            "idle": idle,
            "platform": platform,
            "queueLength": queue_length,
            "total": total,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        busy = d.pop("busy")

        error = d.pop("error")

        idle = d.pop("idle")

        platform = d.pop("platform")

        queue_length = d.pop("queueLength")

        total = d.pop("total")

        pool_stats = cls(
            busy=busy,
            error=error,
            idle=idle,
            platform=platform,
            queue_length=queue_length,
            total=total,
        )


        pool_stats.additional_properties = d
        return pool_stats

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
