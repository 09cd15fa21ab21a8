from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="PlatformOverview")



@_attrs_define
class PlatformOverview:
    """ 
        Attributes:
            active (int):
            capacity (int):
            name (str):
            recent_deploy_latencies_ms (list[int]): Recent deploy-call latencies in milliseconds, newest first.
            recent_errors (list[str]): Recent deployment errors, newest first.
     """

    active: int
    capacity: int
    name: str
    recent_deploy_latencies_ms: list[int]
    recent_errors: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        active = self.active

        capacity = self.capacity

        name = self.name

        recent_deploy_latencies_ms = self.recent_deploy_latencies_ms



        recent_errors = self.recent_errors




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "active": active,
            "capacity": capacity,
            "name": name,
            "recentDeployLatenciesMs": recent_deploy_latencies_ms,
            "recentErrors": recent_errors,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        active = d.pop("active")

        capacity = d.pop("capacity")

        name = d.pop("name")

        recent_deploy_latencies_ms = cast(list[int], d.pop("recentDeployLatenciesMs"))


        recent_errors = cast(list[str], d.pop("recentErrors"))


        platform_overview = cls(
            active=active,
            capacity=capacity,
            name=name,
            recent_deploy_latencies_ms=recent_deploy_latencies_ms,
            recent_errors=recent_errors,
        )


        platform_overview.additional_properties = d
        return platform_overview

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
