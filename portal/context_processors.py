from .selectors import association_get


def portal(request) -> dict:
    return {"association": association_get()}
