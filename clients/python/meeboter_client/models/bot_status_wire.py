from enum import Enum

class BotStatusWire(str, Enum):
    DEPLOYING = "DEPLOYING"
    ENDED = "ENDED"
    FATAL = "FATAL"
    IN_CALL = "IN_CALL"
    IN_WAITING_ROOM = "IN_WAITING_ROOM"
    JOINING_CALL = "JOINING_CALL"
    LEAVING = "LEAVING"
    QUEUED = "QUEUED"
    SCHEDULED = "SCHEDULED"

    def __str__(self) -> str:
        return str(self.value)
