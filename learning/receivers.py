"""Signal receivers: react to upstream events by queueing tasks (no logic here)."""


def trainee_paid_open_account(sender, *, trainee_id: int, **kwargs) -> None:
    """``registration.signals.trainee_paid`` (sent after the payment commits): queue the account."""
    from .tasks import account_open

    account_open.delay(trainee_id=trainee_id)


def user_logged_out_end_study(sender, *, user, **kwargs) -> None:
    """``user_logged_out``: the user's study sessions stop being credited."""
    from .services.study import study_sessions_end

    if user is not None:
        study_sessions_end(user=user)
