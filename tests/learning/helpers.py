import re

LINK = re.compile(r"/learning/activate/([A-Za-z0-9_\-]+)/")


def link_token(text: str) -> str:
    match = LINK.search(text)
    assert match, text
    return match.group(1)


def sms_code(text: str) -> str:
    without_links = re.sub(r"https?://\S+", " ", text)
    match = re.search(r"(?<!\d)(\d{6})(?!\d)", without_links)
    assert match, text
    return match.group(1)
