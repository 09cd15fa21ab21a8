""" Contains all the data models used in inputs/outputs """

from .account_list import AccountList
from .account_resource import AccountResource
from .attempt_resource import AttemptResource
from .automatic_leave_request import AutomaticLeaveRequest
from .automatic_leave_resource import AutomaticLeaveResource
from .bot_list import BotList
from .bot_resource import BotResource
from .bot_resource_metadata import BotResourceMetadata
from .bot_status_wire import BotStatusWire
from .chat_list import ChatList
from .chat_message_resource import ChatMessageResource
from .create_account_request import CreateAccountRequest
from .create_bot_request import CreateBotRequest
from .create_bot_request_metadata_type_0 import CreateBotRequestMetadataType0
from .create_endpoint_request import CreateEndpointRequest
from .create_key_request import CreateKeyRequest
from .created_key import CreatedKey
from .delivery_list import DeliveryList
from .delivery_resource import DeliveryResource
from .deployment_resource import DeploymentResource
from .endpoint_list import EndpointList
from .endpoint_resource import EndpointResource
from .error_body import ErrorBody
from .error_info import ErrorInfo
from .error_info_details_type_0 import ErrorInfoDetailsType0
from .event_list import EventList
from .event_resource import EventResource
from .event_resource_data import EventResourceData
from .health_status import HealthStatus
from .infrastructure import Infrastructure
from .infrastructure_history import InfrastructureHistory
from .infrastructure_orphaned_platforms import InfrastructureOrphanedPlatforms
from .instance_view import InstanceView
from .join_bucket import JoinBucket
from .key_list import KeyList
from .key_resource import KeyResource
from .latency_bucket import LatencyBucket
from .live_response_200 import LiveResponse200
from .log_archive import LogArchive
from .parsed_meeting_url import ParsedMeetingUrl
from .participant_list import ParticipantList
from .participant_resource import ParticipantResource
from .platform_overview import PlatformOverview
from .platform_wire import PlatformWire
from .pool_stats import PoolStats
from .problem import Problem
from .queue_resource import QueueResource
from .queued_view import QueuedView
from .ready_status import ReadyStatus
from .recording_mode_wire import RecordingModeWire
from .role_wire import RoleWire
from .screenshot_list import ScreenshotList
from .screenshot_resource import ScreenshotResource
from .send_chat_request import SendChatRequest
from .signing_secret import SigningSecret
from .slot_view import SlotView
from .status_change_resource import StatusChangeResource
from .status_sample import StatusSample
from .status_sample_by_status import StatusSampleByStatus
from .stream_response_200 import StreamResponse200
from .test_delivery import TestDelivery
from .transcript_format_wire import TranscriptFormatWire
from .transcript_resource import TranscriptResource
from .transcription_provider_wire import TranscriptionProviderWire
from .transcription_request import TranscriptionRequest
from .transcription_resource import TranscriptionResource
from .utterance_resource import UtteranceResource
from .webhook_event_wire import WebhookEventWire

__all__ = (
    "AccountList",
    "AccountResource",
    "AttemptResource",
    "AutomaticLeaveRequest",
    "AutomaticLeaveResource",
    "BotList",
    "BotResource",
    "BotResourceMetadata",
    "BotStatusWire",
    "ChatList",
    "ChatMessageResource",
    "CreateAccountRequest",
    "CreateBotRequest",
    "CreateBotRequestMetadataType0",
    "CreatedKey",
    "CreateEndpointRequest",
    "CreateKeyRequest",
    "DeliveryList",
    "DeliveryResource",
    "DeploymentResource",
    "EndpointList",
    "EndpointResource",
    "ErrorBody",
    "ErrorInfo",
    "ErrorInfoDetailsType0",
    "EventList",
    "EventResource",
    "EventResourceData",
    "HealthStatus",
    "Infrastructure",
    "InfrastructureHistory",
    "InfrastructureOrphanedPlatforms",
    "InstanceView",
    "JoinBucket",
    "KeyList",
    "KeyResource",
    "LatencyBucket",
    "LiveResponse200",
    "LogArchive",
    "ParsedMeetingUrl",
    "ParticipantList",
    "ParticipantResource",
    "PlatformOverview",
    "PlatformWire",
    "PoolStats",
    "Problem",
    "QueuedView",
    "QueueResource",
    "ReadyStatus",
    "RecordingModeWire",
    "RoleWire",
    "ScreenshotList",
    "ScreenshotResource",
    "SendChatRequest",
    "SigningSecret",
    "SlotView",
    "StatusChangeResource",
    "StatusSample",
    "StatusSampleByStatus",
    "StreamResponse200",
    "TestDelivery",
    "TranscriptFormatWire",
    "TranscriptionProviderWire",
    "TranscriptionRequest",
    "TranscriptionResource",
    "TranscriptResource",
    "UtteranceResource",
    "WebhookEventWire",
)
