from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.bot_status_wire import BotStatusWire
from ..models.platform_wire import PlatformWire
from ..models.recording_mode_wire import RecordingModeWire
from ..types import UNSET, Unset
from dateutil.parser import isoparse
from typing import cast
from typing import cast, Union
from typing import Union
import datetime

if TYPE_CHECKING:
  from ..models.status_change_resource import StatusChangeResource
  from ..models.transcription_resource import TranscriptionResource
  from ..models.automatic_leave_resource import AutomaticLeaveResource
  from ..models.deployment_resource import DeploymentResource
  from ..models.queue_resource import QueueResource
  from ..models.bot_resource_metadata import BotResourceMetadata





T = TypeVar("T", bound="BotResource")



@_attrs_define
class BotResource:
    """ A bot.

        Attributes:
            automatic_leave (AutomaticLeaveResource):
            bot_name (str):
            created_at (datetime.datetime):
            id (str): UUIDv7.
            meeting_url (str): The normalised meeting link.
            metadata (BotResourceMetadata):
            platform (PlatformWire): Meeting platform.
            priority (int):
            recording_mode (RecordingModeWire): What the bot records.
            status (BotStatusWire): Bot status. `ENDED` and `FATAL` are terminal.
            status_changes (list['StatusChangeResource']): Every status the bot went through, oldest first.
            updated_at (datetime.datetime):
            deduplication_key (Union[None, Unset, str]):
            deployment (Union['DeploymentResource', None, Unset]):
            ended_at (Union[None, Unset, datetime.datetime]):
            join_at (Union[None, Unset, datetime.datetime]):
            queue (Union['QueueResource', None, Unset]):
            transcription (Union['TranscriptionResource', None, Unset]):
            webhook_url (Union[None, Unset, str]):
     """

    automatic_leave: 'AutomaticLeaveResource'
    bot_name: str
    created_at: datetime.datetime
    id: str
    meeting_url: str
    metadata: 'BotResourceMetadata'
    platform: PlatformWire
    priority: int
    recording_mode: RecordingModeWire
    status: BotStatusWire
    status_changes: list['StatusChangeResource']
    updated_at: datetime.datetime
    deduplication_key: Union[None, Unset, str] = UNSET
    deployment: Union['DeploymentResource', None, Unset] = UNSET
    ended_at: Union[None, Unset, datetime.datetime] = UNSET
    join_at: Union[None, Unset, datetime.datetime] = UNSET
    queue: Union['QueueResource', None, Unset] = UNSET
    transcription: Union['TranscriptionResource', None, Unset] = UNSET
    webhook_url: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        from ..models.status_change_resource import StatusChangeResource
        from ..models.transcription_resource import TranscriptionResource
        from ..models.automatic_leave_resource import AutomaticLeaveResource
        from ..models.deployment_resource import DeploymentResource
        from ..models.queue_resource import QueueResource
        from ..models.bot_resource_metadata import BotResourceMetadata
        automatic_leave = self.automatic_leave.to_dict()

        bot_name = self.bot_name

        created_at = self.created_at.isoformat()

        id = self.id

        meeting_url = self.meeting_url

        metadata = self.metadata.to_dict()

        platform = self.platform.value

        priority = self.priority

        recording_mode = self.recording_mode.value

        status = self.status.value

        status_changes = []
        for status_changes_item_data in self.status_changes:
            status_changes_item = status_changes_item_data.to_dict()
            status_changes.append(status_changes_item)



        updated_at = self.updated_at.isoformat()

        deduplication_key: Union[None, Unset, str]
        if isinstance(self.deduplication_key, Unset):
            deduplication_key = UNSET
        else:
            deduplication_key = self.deduplication_key

        deployment: Union[None, Unset, dict[str, Any]]
        if isinstance(self.deployment, Unset):
            deployment = UNSET
        elif isinstance(self.deployment, DeploymentResource):
            deployment = self.deployment.to_dict()
        else:
            deployment = self.deployment

        ended_at: Union[None, Unset, str]
        if isinstance(self.ended_at, Unset):
            ended_at = UNSET
        elif isinstance(self.ended_at, datetime.datetime):
            ended_at = self.ended_at.isoformat()
        else:
            ended_at = self.ended_at

        join_at: Union[None, Unset, str]
        if isinstance(self.join_at, Unset):
            join_at = UNSET
        elif isinstance(self.join_at, datetime.datetime):
            join_at = self.join_at.isoformat()
        else:
            join_at = self.join_at

        queue: Union[None, Unset, dict[str, Any]]
        if isinstance(self.queue, Unset):
            queue = UNSET
        elif isinstance(self.queue, QueueResource):
            queue = self.queue.to_dict()
        else:
            queue = self.queue

        transcription: Union[None, Unset, dict[str, Any]]
        if isinstance(self.transcription, Unset):
            transcription = UNSET
        elif isinstance(self.transcription, TranscriptionResource):
            transcription = self.transcription.to_dict()
        else:
            transcription = self.transcription

        webhook_url: Union[None, Unset, str]
        if isinstance(self.webhook_url, Unset):
            webhook_url = UNSET
        else:
            webhook_url = self.webhook_url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "automaticLeave": automatic_leave,
            "botName": bot_name,
            "createdAt": created_at,
            "id": id,
            "meetingUrl": meeting_url,
            "metadata": metadata,
            "platform": platform,
            "priority": priority,
            "recordingMode": recording_mode,
            "status": status,
            "statusChanges": status_changes,
            "updatedAt": updated_at,
        })
        if deduplication_key is not UNSET:
            field_dict["deduplicationKey"] = deduplication_key
        if deployment is not UNSET:
            field_dict["deployment"] = deployment
        if ended_at is not UNSET:
            field_dict["endedAt"] = ended_at
        if join_at is not UNSET:
            field_dict["joinAt"] = join_at
        if queue is not UNSET:
            field_dict["queue"] = queue
        if transcription is not UNSET:
            field_dict["transcription"] = transcription
        if webhook_url is not UNSET:
            field_dict["webhookUrl"] = webhook_url

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.status_change_resource import StatusChangeResource
        from ..models.transcription_resource import TranscriptionResource
        from ..models.automatic_leave_resource import AutomaticLeaveResource
        from ..models.deployment_resource import DeploymentResource
        from ..models.queue_resource import QueueResource
        from ..models.bot_resource_metadata import BotResourceMetadata
        d = dict(src_dict)
        automatic_leave = AutomaticLeaveResource.from_dict(d.pop("automaticLeave"))




        bot_name = d.pop("botName")

        created_at = isoparse(d.pop("createdAt"))




        id = d.pop("id")

        meeting_url = d.pop("meetingUrl")

        metadata = BotResourceMetadata.from_dict(d.pop("metadata"))




        platform = PlatformWire(d.pop("platform"))




        priority = d.pop("priority")

        recording_mode = RecordingModeWire(d.pop("recordingMode"))




        status = BotStatusWire(d.pop("status"))




        status_changes = []
        _status_changes = d.pop("statusChanges")
        for status_changes_item_data in (_status_changes):
            status_changes_item = StatusChangeResource.from_dict(status_changes_item_data)



            status_changes.append(status_changes_item)


        updated_at = isoparse(d.pop("updatedAt"))




        def _parse_deduplication_key(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        deduplication_key = _parse_deduplication_key(d.pop("deduplicationKey", UNSET))


        def _parse_deployment(data: object) -> Union['DeploymentResource', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                deployment_type_0 = DeploymentResource.from_dict(data)



                return deployment_type_0
            except: # noqa: E722
                pass
            return cast(Union['DeploymentResource', None, Unset], data)

        deployment = _parse_deployment(d.pop("deployment", UNSET))


        def _parse_ended_at(data: object) -> Union[None, Unset, datetime.datetime]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                ended_at_type_0 = isoparse(data)



                return ended_at_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, datetime.datetime], data)

        ended_at = _parse_ended_at(d.pop("endedAt", UNSET))


        def _parse_join_at(data: object) -> Union[None, Unset, datetime.datetime]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                join_at_type_0 = isoparse(data)



                return join_at_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, datetime.datetime], data)

        join_at = _parse_join_at(d.pop("joinAt", UNSET))


        def _parse_queue(data: object) -> Union['QueueResource', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                queue_type_0 = QueueResource.from_dict(data)



                return queue_type_0
            except: # noqa: E722
                pass
            return cast(Union['QueueResource', None, Unset], data)

        queue = _parse_queue(d.pop("queue", UNSET))


        def _parse_transcription(data: object) -> Union['TranscriptionResource', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                transcription_type_0 = TranscriptionResource.from_dict(data)



                return transcription_type_0
            except: # noqa: E722
                pass
            return cast(Union['TranscriptionResource', None, Unset], data)

        transcription = _parse_transcription(d.pop("transcription", UNSET))


        def _parse_webhook_url(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        webhook_url = _parse_webhook_url(d.pop("webhookUrl", UNSET))


        bot_resource = cls(
            automatic_leave=automatic_leave,
            bot_name=bot_name,
            created_at=created_at,
            id=id,
            meeting_url=meeting_url,
            metadata=metadata,
            platform=platform,
            priority=priority,
            recording_mode=recording_mode,
            status=status,
            status_changes=status_changes,
            updated_at=updated_at,
            deduplication_key=deduplication_key,
            deployment=deployment,
            ended_at=ended_at,
            join_at=join_at,
            queue=queue,
            transcription=transcription,
            webhook_url=webhook_url,
        )


        bot_resource.additional_properties = d
        return bot_resource

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
