from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.platform_wire import PlatformWire
from ..models.recording_mode_wire import RecordingModeWire
from ..types import UNSET, Unset
from dateutil.parser import isoparse
from typing import cast
from typing import cast, Union
from typing import Union
import datetime

if TYPE_CHECKING:
  from ..models.create_bot_request_metadata_type_0 import CreateBotRequestMetadataType0
  from ..models.transcription_request import TranscriptionRequest
  from ..models.automatic_leave_request import AutomaticLeaveRequest





T = TypeVar("T", bound="CreateBotRequest")



@_attrs_define
class CreateBotRequest:
    """ Body of `POST /api/bots`.

        Example:
            {'automaticLeave': {'nooneJoinedTimeoutSecs': 300}, 'botName': 'Notetaker', 'meetingUrl':
                'https://meet.google.com/abc-defg-hij', 'metadata': {'crmId': '42'}, 'recordingMode': 'audio', 'transcription':
                {'provider': 'meeting_captions'}}

        Attributes:
            meeting_url (str): Google Meet, Microsoft Teams or Zoom link. Required. Example: https://meet.google.com/abc-
                defg-hij.
            automatic_leave (Union['AutomaticLeaveRequest', None, Unset]):
            bot_name (Union[None, Unset, str]): Display name in the meeting (default `Meeboter`, at most 100 characters, not
                blank,
                no control characters).
            deduplication_key (Union[None, Unset, str]): A second create with the same key, while the first bot is live,
                returns that bot.
                1 to 256 bytes of UTF-8 (at most 64 characters are always within that).
            join_at (Union[None, Unset, datetime.datetime]): RFC 3339 time to join, at most 90 days ahead and at most a few
                minutes in the
                past; in the future the bot is `SCHEDULED`.
            metadata (Union['CreateBotRequestMetadataType0', None, Unset]): Free-form JSON object (≤ 16 KB) echoed back on
                the bot and its events.
            platform (Union[None, PlatformWire, Unset]):
            priority (Union[None, Unset, int]): Deployment-queue priority, -100 to 100 (default 0); higher goes first.
            recording_mode (Union[None, RecordingModeWire, Unset]):
            transcription (Union['TranscriptionRequest', None, Unset]):
            webhook_url (Union[None, Unset, str]): Where this bot's events are POSTed: an http(s) URL without credentials
                whose host
                is public (unless the server sets `WEBHOOK_ALLOW_PRIVATE=true`).
     """

    meeting_url: str
    automatic_leave: Union['AutomaticLeaveRequest', None, Unset] = UNSET
    bot_name: Union[None, Unset, str] = UNSET
    deduplication_key: Union[None, Unset, str] = UNSET
    join_at: Union[None, Unset, datetime.datetime] = UNSET
    metadata: Union['CreateBotRequestMetadataType0', None, Unset] = UNSET
    platform: Union[None, PlatformWire, Unset] = UNSET
    priority: Union[None, Unset, int] = UNSET
    recording_mode: Union[None, RecordingModeWire, Unset] = UNSET
    transcription: Union['TranscriptionRequest', None, Unset] = UNSET
    webhook_url: Union[None, Unset, str] = UNSET


    def to_dict(self) -> dict[str, Any]:
        from ..models.create_bot_request_metadata_type_0 import CreateBotRequestMetadataType0
        from ..models.transcription_request import TranscriptionRequest
        from ..models.automatic_leave_request import AutomaticLeaveRequest
        meeting_url = self.meeting_url

        automatic_leave: Union[None, Unset, dict[str, Any]]
        if isinstance(self.automatic_leave, Unset):
            automatic_leave = UNSET
        elif isinstance(self.automatic_leave, AutomaticLeaveRequest):
            automatic_leave = self.automatic_leave.to_dict()
        else:
            automatic_leave = self.automatic_leave

        bot_name: Union[None, Unset, str]
        if isinstance(self.bot_name, Unset):
            bot_name = UNSET
        else:
            bot_name = self.bot_name

        deduplication_key: Union[None, Unset, str]
        if isinstance(self.deduplication_key, Unset):
            deduplication_key = UNSET
        else:
            deduplication_key = self.deduplication_key

        join_at: Union[None, Unset, str]
        if isinstance(self.join_at, Unset):
            join_at = UNSET
        elif isinstance(self.join_at, datetime.datetime):
            join_at = self.join_at.isoformat()
        else:
            join_at = self.join_at

        metadata: Union[None, Unset, dict[str, Any]]
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, CreateBotRequestMetadataType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        platform: Union[None, Unset, str]
        if isinstance(self.platform, Unset):
            platform = UNSET
        elif isinstance(self.platform, PlatformWire):
            platform = self.platform.value
        else:
            platform = self.platform

        priority: Union[None, Unset, int]
        if isinstance(self.priority, Unset):
            priority = UNSET
        else:
            priority = self.priority

        recording_mode: Union[None, Unset, str]
        if isinstance(self.recording_mode, Unset):
            recording_mode = UNSET
        elif isinstance(self.recording_mode, RecordingModeWire):
            recording_mode = self.recording_mode.value
        else:
            recording_mode = self.recording_mode

        transcription: Union[None, Unset, dict[str, Any]]
        if isinstance(self.transcription, Unset):
            transcription = UNSET
        elif isinstance(self.transcription, TranscriptionRequest):
            transcription = self.transcription.to_dict()
        else:
            transcription = self.transcription

        webhook_url: Union[None, Unset, str]
        if isinstance(self.webhook_url, Unset):
            webhook_url = UNSET
        else:
            webhook_url = self.webhook_url


        field_dict: dict[str, Any] = {}
        field_dict.update({
            "meetingUrl": meeting_url,
        })
        if automatic_leave is not UNSET:
            field_dict["automaticLeave"] = automatic_leave
        if bot_name is not UNSET:
            field_dict["botName"] = bot_name
        if deduplication_key is not UNSET:
            field_dict["deduplicationKey"] = deduplication_key
        if join_at is not UNSET:
            field_dict["joinAt"] = join_at
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if platform is not UNSET:
            field_dict["platform"] = platform
        if priority is not UNSET:
            field_dict["priority"] = priority
        if recording_mode is not UNSET:
            field_dict["recordingMode"] = recording_mode
        if transcription is not UNSET:
            field_dict["transcription"] = transcription
        if webhook_url is not UNSET:
            field_dict["webhookUrl"] = webhook_url

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.create_bot_request_metadata_type_0 import CreateBotRequestMetadataType0
        from ..models.transcription_request import TranscriptionRequest
        from ..models.automatic_leave_request import AutomaticLeaveRequest
        d = dict(src_dict)
        meeting_url = d.pop("meetingUrl")

        def _parse_automatic_leave(data: object) -> Union['AutomaticLeaveRequest', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                automatic_leave_type_0 = AutomaticLeaveRequest.from_dict(data)



                return automatic_leave_type_0
            except: # noqa: E722
                pass
            return cast(Union['AutomaticLeaveRequest', None, Unset], data)

        automatic_leave = _parse_automatic_leave(d.pop("automaticLeave", UNSET))


        def _parse_bot_name(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        bot_name = _parse_bot_name(d.pop("botName", UNSET))


        def _parse_deduplication_key(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        deduplication_key = _parse_deduplication_key(d.pop("deduplicationKey", UNSET))


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


        def _parse_metadata(data: object) -> Union['CreateBotRequestMetadataType0', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = CreateBotRequestMetadataType0.from_dict(data)



                return metadata_type_0
            except: # noqa: E722
                pass
            return cast(Union['CreateBotRequestMetadataType0', None, Unset], data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))


        def _parse_platform(data: object) -> Union[None, PlatformWire, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                platform_type_0 = PlatformWire(data)



                return platform_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, PlatformWire, Unset], data)

        platform = _parse_platform(d.pop("platform", UNSET))


        def _parse_priority(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        priority = _parse_priority(d.pop("priority", UNSET))


        def _parse_recording_mode(data: object) -> Union[None, RecordingModeWire, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                recording_mode_type_0 = RecordingModeWire(data)



                return recording_mode_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, RecordingModeWire, Unset], data)

        recording_mode = _parse_recording_mode(d.pop("recordingMode", UNSET))


        def _parse_transcription(data: object) -> Union['TranscriptionRequest', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                transcription_type_0 = TranscriptionRequest.from_dict(data)



                return transcription_type_0
            except: # noqa: E722
                pass
            return cast(Union['TranscriptionRequest', None, Unset], data)

        transcription = _parse_transcription(d.pop("transcription", UNSET))


        def _parse_webhook_url(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        webhook_url = _parse_webhook_url(d.pop("webhookUrl", UNSET))


        create_bot_request = cls(
            meeting_url=meeting_url,
            automatic_leave=automatic_leave,
            bot_name=bot_name,
            deduplication_key=deduplication_key,
            join_at=join_at,
            metadata=metadata,
            platform=platform,
            priority=priority,
            recording_mode=recording_mode,
            transcription=transcription,
            webhook_url=webhook_url,
        )

        return create_bot_request

