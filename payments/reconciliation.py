"""Reading bank statements / payment-platform exports and matching credits to outstanding trainees.

Column mapping (the header row is found among the first 30 rows; headers are compared after
removing spaces, full-width brackets and a trailing "(元)"):

=============  ==========================================================================
field          accepted headers
=============  ==========================================================================
date           交易日期, 交易时间, 记账日期, 入账日期, 入账时间, 交易创建时间, 付款时间, 日期, 时间, date
amount         贷方金额, 贷方发生额, 收入, 收入金额, 入账金额, 金额, 交易金额, 订单金额, 实收金额, amount
debit          借方金额, 借方发生额, 支出, 支出金额 (lines with a debit and no credit are skipped)
direction      收/支, 收支, 收支类型, 借贷标志, 借贷, 资金流向, direction (支出/借/支 lines are skipped)
payer name     对方户名, 对方账户名, 对方名称, 对方, 交易对方, 付款人, 付款方, 付款人名称, 付款户名, payer
memo           摘要, 用途, 备注, 附言, 交易附言, 交易备注, 商品名称, 商品说明, 备注说明, memo
serial         流水号, 交易流水号, 交易单号, 交易号, 商户单号, 订单号, 凭证号, 业务流水号, serial
=============  ==========================================================================

Amounts are read as decimals (never float) in yuan and stored in fen; negative amounts are debits.
A line without a serial gets a fingerprint of its date, amount, payer and memo instead.

Matching (:class:`OutstandingIndex`) is set-based: the approved, unpaid trainees are loaded once
into dictionaries by name, mobile and unit name; each line is then matched in memory.
"""

import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.spreadsheets import table_rows_read
from registration.models import Trainee, TraineeStatus

from .models import yuan

HEADERS = {
    "date": [
        "交易日期",
        "交易时间",
        "记账日期",
        "入账日期",
        "入账时间",
        "交易创建时间",
        "付款时间",
        "日期",
        "时间",
        "date",
    ],
    "amount": [
        "贷方金额",
        "贷方发生额",
        "收入",
        "收入金额",
        "入账金额",
        "金额",
        "交易金额",
        "订单金额",
        "实收金额",
        "amount",
    ],
    "debit": ["借方金额", "借方发生额", "支出", "支出金额"],
    "direction": ["收/支", "收支", "收支类型", "借贷标志", "借贷", "资金流向", "direction"],
    "payer": [
        "对方户名",
        "对方账户名",
        "对方名称",
        "对方",
        "交易对方",
        "付款人",
        "付款方",
        "付款人名称",
        "付款户名",
        "payer",
    ],
    "memo": [
        "摘要",
        "用途",
        "备注",
        "附言",
        "交易附言",
        "交易备注",
        "商品名称",
        "商品说明",
        "备注说明",
        "memo",
    ],
    "serial": [
        "流水号",
        "交易流水号",
        "交易单号",
        "交易号",
        "商户单号",
        "订单号",
        "凭证号",
        "业务流水号",
        "serial",
    ],
}
DEBIT_WORDS = {"支出", "借", "支", "出", "debit", "out"}
MAX_ROWS = 50_000
MAX_COLUMNS = 100
MAX_BYTES = 20 * 1024 * 1024


@dataclass
class ParsedLine:
    row_number: int
    booked_at: datetime
    amount_fen: int
    payer_name: str
    memo: str
    serial: str


def _norm_header(value) -> str:
    text = str(value or "").strip().lower()
    text = re.sub(r"[\s\u3000]", "", text)
    text = text.replace("（", "(").replace("）", ")")
    text = re.sub(r"\((元|rmb|cny)\)$", "", text)
    return text.strip("*:：")


def _column_map(row) -> dict[str, int]:
    """Header names to column indexes; earlier aliases win (贷方金额 before 金额)."""
    cells = [_norm_header(c) for c in row]
    mapping: dict[str, int] = {}
    for key, aliases in HEADERS.items():
        for alias in aliases:
            if alias in cells:
                mapping[key] = cells.index(alias)
                break
    return mapping


def _rows_from_bytes(content: bytes) -> list[list]:
    if len(content) > MAX_BYTES:
        raise ValidationError(_("The file is too large (at most 20 MB)."))
    return table_rows_read(content, max_rows=MAX_ROWS, max_columns=MAX_COLUMNS, delimiters=",\t;")


DATE_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日",
    "%Y.%m.%d",
]


def _parse_date(value) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip().replace("\t", " ")
        try:
            moment = datetime.fromisoformat(text) if len(text) >= 10 and text[4] == "-" else None
        except ValueError:
            moment = None
        for fmt in DATE_FORMATS if moment is None else ():
            try:
                moment = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if moment is None:
            return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


def parse_amount_fen(value) -> int | None:
    """Yuan (number or text such as "¥1,600.00") to fen; ``None`` when blank."""
    if value is None:
        return None
    text = str(value).strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    text = text.replace("元", "").replace("+", "").strip()
    if not text or text in {"-", "--"}:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    return int((amount * 100).quantize(Decimal("1")))


def _cell(row, index: int | None) -> object:
    if index is None or index >= len(row):
        return None
    return row[index]


def _text(value) -> str:
    if value is None:
        return ""
    return str(value).strip().lstrip("`'\t").strip()


def parse_statement(content: bytes) -> tuple[list[ParsedLine], int]:
    """Parse a statement; return its credit lines and how many rows were skipped (debits, blanks).

    Raises ``ValidationError`` naming the row when a date or amount cannot be read.
    """
    rows = _rows_from_bytes(content)
    if len(rows) > MAX_ROWS:
        raise ValidationError(_("The file has too many rows (at most %(max)s).") % {"max": MAX_ROWS})
    header_index = None
    mapping: dict[str, int] = {}
    for index, row in enumerate(rows[:30]):
        candidate = _column_map(row)
        if "date" in candidate and "amount" in candidate and ("payer" in candidate or "memo" in candidate):
            header_index, mapping = index, candidate
            break
    if header_index is None:
        raise ValidationError(
            _(
                "No header row found: the file needs columns for the date (交易日期), the amount "
                "(金额 / 贷方金额 / 收入) and the payer (对方户名) or the memo (摘要 / 用途 / 备注)."
            )
        )
    lines: list[ParsedLine] = []
    skipped = 0
    seen: Counter = Counter()
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        row_number = index + 1
        raw_date = _cell(row, mapping.get("date"))
        if raw_date is None or _text(raw_date) == "":
            skipped += 1  # blank lines, totals (合计) and footers
            continue
        booked_at = _parse_date(raw_date)
        if booked_at is None:
            if not any(ch.isdigit() for ch in _text(raw_date)):
                skipped += 1  # a footer such as "合计"
                continue
            raise ValidationError(
                _("Row %(row)s: the date “%(value)s” cannot be read.")
                % {"row": row_number, "value": raw_date}
            )
        try:
            amount = parse_amount_fen(_cell(row, mapping["amount"]))
            debit = parse_amount_fen(_cell(row, mapping.get("debit")))
        except ValueError as exc:
            raise ValidationError(
                _("Row %(row)s: the amount “%(value)s” cannot be read.") % {"row": row_number, "value": exc}
            ) from None
        direction = _text(_cell(row, mapping.get("direction"))).lower()
        if direction in DEBIT_WORDS or amount is None or amount <= 0 or (debit and not amount):
            skipped += 1
            continue
        payer = _text(_cell(row, mapping.get("payer")))[:120]
        memo = _text(_cell(row, mapping.get("memo")))[:300]
        serial = _text(_cell(row, mapping.get("serial")))[:80]
        if not serial:
            key = f"{booked_at.isoformat()}|{amount}|{payer}|{memo}"
            seen[key] += 1
            digest = hashlib.sha256(f"{key}|{seen[key]}".encode()).hexdigest()[:32]
            serial = f"auto-{digest}"
        lines.append(
            ParsedLine(
                row_number=row_number,
                booked_at=booked_at,
                amount_fen=amount,
                payer_name=payer,
                memo=memo,
                serial=serial,
            )
        )
    return lines, skipped


# ---------------------------------------------------------------------------------------------
# Matching

MOBILE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
NOISE_RE = re.compile(r"[\s\d,，、;；/\\|:：()（）\[\]【】.。\-_+*#]+")


def _norm_name(value: str) -> str:
    return re.sub(r"[\s\u3000()（）·.]", "", value or "")


@dataclass
class MatchResult:
    status: str  # "matched" / "ambiguous" / "unmatched"
    candidate_ids: list[int] = field(default_factory=list)
    note: str = ""
    reported_payment_id: int | None = None


@dataclass
class OutstandingIndex:
    """Approved, unpaid trainees in memory: by name, by mobile, by unit name, by application."""

    fee: dict[int, int] = field(default_factory=dict)
    application_of: dict[int, int] = field(default_factory=dict)
    by_name: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_mobile: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_unit: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_application: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    name_lengths: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        # Translated once per import, not once per line.
        self.text = {
            "SAME_SERIAL": _("Same transaction number as a reported payment."),
            "SAME_SERIAL_AMOUNT": _("Same transaction number as a reported payment, but the amount differs."),
            "UNIT_ALL": _("All outstanding trainees of the paying unit."),
            "UNIT_PICK": _("Paid by a registered unit: pick the trainees it covers."),
            "NOTHING": _("No trainee name, mobile number or unit recognised."),
            "HOMONYM": _("Several outstanding trainees have this name: pick the right ones."),
            "CLAIMED": _("A trainee is already matched to another line of this file."),
            "AMOUNT": _("The amount differs from the fees due (%(due)s yuan)."),
        }

    @classmethod
    def load(cls) -> "OutstandingIndex":
        index = cls()
        rows = (
            Trainee.objects.filter(status=TraineeStatus.APPROVED, paid_at__isnull=True)
            .order_by("pk")
            .values_list(
                "pk",
                "name",
                "mobile",
                "application_id",
                "training_category",
                "programme__fee_initial_fen",
                "programme__fee_refresher_fen",
                "application__unit_name",
                "application__invoice_title",
            )
        )
        for pk, name, mobile, app_id, category, fee_initial, fee_refresher, unit, title in rows.iterator(
            chunk_size=5000
        ):
            index.fee[pk] = fee_initial if category == "initial" else fee_refresher
            index.application_of[pk] = app_id
            key = _norm_name(name)
            if key:
                index.by_name[key].append(pk)
                index.name_lengths.add(len(key))
            if mobile:
                index.by_mobile[mobile].append(pk)
            index.by_application[app_id].append(pk)
            for unit_name in (unit, title):
                if unit_name:
                    index.by_unit[_norm_name(unit_name)].add(app_id)
        return index

    # -- helpers ------------------------------------------------------------------------------

    def names_in(self, memo: str) -> list[str]:
        """Trainee names found in a memo (longest matches; a name inside a longer one is dropped)."""
        found: set[str] = set()
        lengths = sorted((n for n in self.name_lengths if 2 <= n <= 8), reverse=True)
        for chunk in NOISE_RE.split(memo or ""):
            if len(chunk) < 2:
                continue
            for length in lengths:
                for start in range(0, len(chunk) - length + 1):
                    piece = chunk[start : start + length]
                    if piece in self.by_name:
                        found.add(piece)
        return [n for n in found if not any(n != other and n in other for other in found)]

    def _resolve(self, ids: list[int], preferred_apps: set[int]) -> list[int]:
        if len(ids) > 1 and preferred_apps:
            narrowed = [i for i in ids if self.application_of[i] in preferred_apps]
            if narrowed:
                return narrowed
        return ids

    def match(
        self, *, amount_fen: int, payer_name: str, memo: str, claimed: set[int], reported=None
    ) -> MatchResult:
        if reported is not None:
            payment_id, payment_amount, payment_trainees = reported
            outstanding = [t for t in payment_trainees if t in self.fee]
            if amount_fen == payment_amount:
                return MatchResult(
                    "matched",
                    outstanding,
                    self.text["SAME_SERIAL"],
                    reported_payment_id=payment_id,
                )
            return MatchResult(
                "ambiguous",
                outstanding,
                self.text["SAME_SERIAL_AMOUNT"],
                reported_payment_id=payment_id,
            )

        payer_key = _norm_name(payer_name)
        unit_apps = set(self.by_unit.get(payer_key, ()))
        identified: list[list[int]] = []
        for mobile in MOBILE_RE.findall(memo or ""):
            if mobile in self.by_mobile:
                identified.append(list(self.by_mobile[mobile]))
        for name in self.names_in(memo):
            identified.append(list(self.by_name[name]))
        if not identified and payer_key in self.by_name:
            identified.append(list(self.by_name[payer_key]))

        if not identified:
            if unit_apps:
                candidates = sorted(
                    t for app in unit_apps for t in self.by_application[app] if t not in claimed
                )
                if candidates and sum(self.fee[t] for t in candidates) == amount_fen:
                    return MatchResult("matched", candidates, self.text["UNIT_ALL"])
                return MatchResult("ambiguous", candidates, self.text["UNIT_PICK"])
            return MatchResult("unmatched", [], self.text["NOTHING"])

        # Homonyms: prefer trainees of the paying unit, then of the applications already identified.
        unique_apps = {self.application_of[ids[0]] for ids in identified if len(ids) == 1}
        chosen: set[int] = set()
        same_name: list[int] = []
        for ids in identified:
            resolved = self._resolve(ids, unit_apps or unique_apps)
            if len(resolved) == 1:
                chosen.add(resolved[0])
            else:
                same_name.extend(resolved)
        if same_name:
            return MatchResult(
                "ambiguous",
                sorted(chosen | set(same_name)),
                self.text["HOMONYM"],
            )
        taken = chosen & claimed
        if taken:
            return MatchResult("ambiguous", sorted(chosen), self.text["CLAIMED"])
        due = sum(self.fee[t] for t in chosen)
        if due != amount_fen:
            return MatchResult(
                "ambiguous",
                sorted(chosen),
                self.text["AMOUNT"] % {"due": yuan(due)},
            )
        return MatchResult("matched", sorted(chosen), "")
