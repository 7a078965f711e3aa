from .selectors import association_get
from .wechat import request_in_wechat


def portal(request) -> dict:
    return {"association": association_get(), "in_wechat": request_in_wechat(request)}
