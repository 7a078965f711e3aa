"""The learning app's settings with their defaults (override them in Django settings)."""

from django.conf import settings

DEFAULTS = {
    # Reminders go out this many days before the study deadline, once each.
    "LEARNING_REMINDER_DAYS": (7, 2),
    # The one-time link to set one's own password is valid this long.
    "LEARNING_LINK_HOURS": 72,
    # A code asked for on the "get a code" page is valid this long (the code in the account
    # opening message arrives with the link and is valid as long as the link).
    "LEARNING_CODE_MINUTES": 10,
    # Wrong tries of one code before it is dead.
    "LEARNING_CODE_MAX_ATTEMPTS": 5,
    # The notice promises the account within this many days of payment; staff are warned a day earlier.
    "LEARNING_ACCOUNT_PROMISE_DAYS": 2,
    "LEARNING_ACCOUNT_AT_RISK_DAYS": 1,
    # Rows per batch in the periodic jobs.
    "LEARNING_JOB_BATCH": 500,
    # Rate limits: (attempts, window in seconds).
    "LEARNING_RATE_CODE_REQUEST_MOBILE": (3, 600),
    "LEARNING_RATE_CODE_REQUEST_IP": (20, 3600),
    "LEARNING_RATE_CODE_VERIFY_MOBILE": (10, 3600),
    "LEARNING_RATE_VERIFY_IP": (30, 3600),
}


DEFAULTS.update(
    {
        # One class hour (学时) in minutes.
        "LEARNING_CLASS_HOUR_MINUTES": 45,
        # The lesson page sends a heartbeat this often while visible and active.
        "LEARNING_HEARTBEAT_SECONDS": 15,
        # A gap between heartbeats larger than interval + slack credits nothing (screen off, throttled).
        "LEARNING_HEARTBEAT_SLACK_SECONDS": 10,
        # The page reports "idle" after this long without input, scrolling or a playing video.
        "LEARNING_IDLE_SECONDS": 180,
        # Presence checks: the next one is due at a random time in this range (minutes) after the last.
        "LEARNING_PRESENCE_MIN_MINUTES": 5,
        "LEARNING_PRESENCE_MAX_MINUTES": 15,
        # The learner has this long to answer one.
        "LEARNING_PRESENCE_ANSWER_SECONDS": 60,
        # Default daily cap on credited class hours (a programme's study rule overrides it).
        "LEARNING_DAILY_CAP_HOURS": 8,
    }
)

DEFAULTS.update(
    {
        # Lesson videos (learning/video.py): ffprobe / ffmpeg commands, the largest picture (the
        # longer side × the shorter side), the x264 quality (CRF) and preset, the audio bitrate.
        "LEARNING_VIDEO_FFPROBE": "ffprobe",
        "LEARNING_VIDEO_FFMPEG": "ffmpeg",
        "LEARNING_VIDEO_MAX_SIZE": (1280, 720),
        "LEARNING_VIDEO_CRF": 26,
        "LEARNING_VIDEO_PRESET": "veryfast",
        "LEARNING_VIDEO_AUDIO_BITRATE": "96k",
        # Converting one video may take this long (seconds); the task's own limit is a little longer.
        "LEARNING_VIDEO_TIMEOUT_SECONDS": 3 * 3600,
    }
)


def conf(name: str):
    return getattr(settings, name, DEFAULTS[name])
