from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.screenshot_resource import ScreenshotResource





T = TypeVar("T", bound="ScreenshotList")



@_attrs_define
class ScreenshotList:
    """ 
        Attributes:
            screenshots (list['ScreenshotResource']):
     """

    screenshots: list['ScreenshotResource']
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        from ..models.screenshot_resource import ScreenshotResource
        screenshots = []
        for screenshots_item_data in self.screenshots:
            screenshots_item = screenshots_item_data.to_dict()
            screenshots.append(screenshots_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "screenshots": screenshots,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.screenshot_resource import ScreenshotResource
        d = dict(src_dict)
        screenshots = []
        _screenshots = d.pop("screenshots")
        for screenshots_item_data in (_screenshots):
            screenshots_item = ScreenshotResource.from_dict(screenshots_item_data)



            screenshots.append(screenshots_item)


        screenshot_list = cls(
            screenshots=screenshots,
        )


        screenshot_list.additional_properties = d
        return screenshot_list

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
