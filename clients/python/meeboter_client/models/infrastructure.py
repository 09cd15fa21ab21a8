from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.queued_view import QueuedView
  from ..models.instance_view import InstanceView
  from ..models.slot_view import SlotView
  from ..models.platform_overview import PlatformOverview
  from ..models.infrastructure_orphaned_platforms import InfrastructureOrphanedPlatforms





T = TypeVar("T", bound="Infrastructure")



@_attrs_define
class Infrastructure:
    """ 
        Attributes:
            instances (list['InstanceView']): What runs now: one row per deployed live bot (its process, ECS task or slot),
                up to 200.
            orphaned_platforms (InfrastructureOrphanedPlatforms): Live bots on platforms that are no longer configured:
                `{platform: count}`.
            pending_release_jobs (int):
            platforms (list['PlatformOverview']): Platforms in overflow order; the first is the primary.
            queue (list['QueuedView']): The head of the deployment queue, up to 50, in dispatch order.
            queue_length (int):
            selection (str): Why these platforms (auto-detection explained).
            slots (list['SlotView']): The Coolify pool's slots (empty without a pool).
            warnings (list[str]):
     """

    instances: list['InstanceView']
    orphaned_platforms: 'InfrastructureOrphanedPlatforms'
    pending_release_jobs: int
    platforms: list['PlatformOverview']
    queue: list['QueuedView']
    queue_length: int
    selection: str
    slots: list['SlotView']
    warnings: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        from ..models.queued_view import QueuedView
        from ..models.instance_view import InstanceView
        from ..models.slot_view import SlotView
        from ..models.platform_overview import PlatformOverview
        from ..models.infrastructure_orphaned_platforms import InfrastructureOrphanedPlatforms
        instances = []
        for instances_item_data in self.instances:
            instances_item = instances_item_data.to_dict()
            instances.append(instances_item)



        orphaned_platforms = self.orphaned_platforms.to_dict()

        pending_release_jobs = self.pending_release_jobs

        platforms = []
        for platforms_item_data in self.platforms:
            platforms_item = platforms_item_data.to_dict()
            platforms.append(platforms_item)



        queue = []
        for queue_item_data in self.queue:
            queue_item = queue_item_data.to_dict()
            queue.append(queue_item)



        queue_length = self.queue_length

        selection = self.selection

        slots = []
        for slots_item_data in self.slots:
            slots_item = slots_item_data.to_dict()
            slots.append(slots_item)



        warnings = self.warnings




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "instances": instances,
            "orphanedPlatforms": orphaned_platforms,
            "pendingReleaseJobs": pending_release_jobs,
            "platforms": platforms,
            "queue": queue,
            "queueLength": queue_length,
            "selection": selection,
            "slots": slots,
            "warnings": warnings,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.queued_view import QueuedView
        from ..models.instance_view import InstanceView
        from ..models.slot_view import SlotView
        from ..models.platform_overview import PlatformOverview
        from ..models.infrastructure_orphaned_platforms import InfrastructureOrphanedPlatforms
        d = dict(src_dict)
        instances = []
        _instances = d.pop("instances")
        for instances_item_data in (_instances):
            instances_item = InstanceView.from_dict(instances_item_data)



            instances.append(instances_item)


        orphaned_platforms = InfrastructureOrphanedPlatforms.from_dict(d.pop("orphanedPlatforms"))




        pending_release_jobs = d.pop("pendingReleaseJobs")

        platforms = []
        _platforms = d.pop("platforms")
        for platforms_item_data in (_platforms):
            platforms_item = PlatformOverview.from_dict(platforms_item_data)



            platforms.append(platforms_item)


        queue = []
        _queue = d.pop("queue")
        for queue_item_data in (_queue):
            queue_item = QueuedView.from_dict(queue_item_data)



            queue.append(queue_item)


        queue_length = d.pop("queueLength")

        selection = d.pop("selection")

        slots = []
        _slots = d.pop("slots")
        for slots_item_data in (_slots):
            slots_item = SlotView.from_dict(slots_item_data)



            slots.append(slots_item)


        warnings = cast(list[str], d.pop("warnings"))


        infrastructure = cls(
            instances=instances,
            orphaned_platforms=orphaned_platforms,
            pending_release_jobs=pending_release_jobs,
            platforms=platforms,
            queue=queue,
            queue_length=queue_length,
            selection=selection,
            slots=slots,
            warnings=warnings,
        )


        infrastructure.additional_properties = d
        return infrastructure

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
