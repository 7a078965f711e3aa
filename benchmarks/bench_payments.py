"""Payments: reconciling a 5,000-line bank statement against 10,000 outstanding trainees.

``reconcile_5000_s`` is the wall time of ``payments.services.statements.statement_import`` (parse
the CSV, match every credit in memory, store the lines), production settings on PostgreSQL —
target: under 5 s. The statement is generated so that the outcome of every line is known in
advance, and the benchmark fails unless each line gets exactly that status and those trainees:

* a unit's transfer naming some of its trainees, for their fees: matched; another amount: ambiguous
* a unit's transfer without names, for all its trainees: matched; another amount: ambiguous
* a trainee's QR payment with name and mobile in the note, for the fee: matched
* a payment the trainee reported on the payment page (payments.services.payments.payment_report),
  the bank line carrying its transaction number: matched with that report; another amount: ambiguous
* a payment by a name two trainees share, nothing else to tell them apart: ambiguous
* unrelated income: unmatched

Every application is paid at most once and every trainee by at most one line, so the order of the
lines does not change the outcome.
"""

import random
import time
from datetime import date, datetime, timedelta

from .harness import test_database

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"

APPLICATIONS = 2500  # four trainees each
# Applications per kind of line, in this order (the rest: reported payments and homonyms).
UNIT_NAMED, UNIT_NAMED_WRONG, UNIT_ALL, UNIT_ALL_WRONG, PERSONAL = 800, 200, 400, 100, 574
REPORTED, REPORTED_WRONG = 150, 25  # applications; of their 600 trainees' reports, 100 differ
HOMONYM_APPS = APPLICATIONS - (
    UNIT_NAMED + UNIT_NAMED_WRONG + UNIT_ALL + UNIT_ALL_WRONG + PERSONAL + REPORTED
)
UNRELATED = 52


def _names(rng: random.Random, count: int) -> list[str]:
    """``count`` different three-character names (none inside another, none in the memos' words)."""
    names: set[str] = set()
    while len(names) < count:
        names.add(rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN))
    ordered = sorted(names)
    rng.shuffle(ordered)
    return ordered


def _setup(rng: random.Random):
    from registration.models import Application, Programme, Trainee, TraineeStatus

    programme = Programme.objects.create(
        name="基准测试项目", year=2026, opens_on=date(2026, 1, 1), closes_on=date(2026, 12, 31)
    )
    applications = Application.objects.bulk_create(
        [
            Application(
                programme=programme,
                reference=f"B{n:07d}",
                access_key=f"bench-{n}",
                unit_name=f"示例{n}号制造有限公司",
                industry="C",
                contact_name="联系人",
                contact_phone="13800000000",
                mail_recipient="收件人",
                mail_phone="13800000000",
                mail_address="示例路 1 号",
                invoice_title=f"示例{n}号制造有限公司",
                invoice_email="i@example.com",
            )
            for n in range(APPLICATIONS)
        ]
    )
    count = APPLICATIONS * 4
    homonym_from = count - HOMONYM_APPS * 4
    names = _names(rng, count)
    for n in range(homonym_from, count):
        # Homonyms: the trainees of every second application bear the names of the one before.
        if (n - homonym_from) // 4 % 2:
            names[n] = names[n - 4]
    trainees = []
    for n in range(count):
        name = names[n]
        trainees.append(
            Trainee(
                application=applications[n // 4],
                programme=programme,
                row_number=n % 4 + 1,
                access_key=f"bench-t-{n}",
                name=name,
                id_number=f"11010119900101{n:04d}"[-18:],
                mobile=f"139{n:08d}",
                certificate_type="safety_manager",
                training_category="initial" if n % 3 else "refresher",
                status=TraineeStatus.APPROVED,
            )
        )
    Trainee.objects.bulk_create(trainees, batch_size=2000)
    return applications, list(Trainee.objects.select_related("application", "programme").order_by("pk"))


def _statement(rng: random.Random, applications, trainees):
    """The CSV and, per serial, the expected ``(status, trainee ids, reported payment id)``."""
    from payments.models import Channel
    from payments.services.payments import payment_report

    members = [trainees[n : n + 4] for n in range(0, len(trainees), 4)]
    lines: list[tuple[str, str, str, int]] = []  # serial, payer, memo, amount
    expected: dict[str, tuple[str, set[int], int | None]] = {}
    apps = iter(range(APPLICATIONS))

    def add(status, payer, memo, amount, ids, reported=None, serial=None):
        serial = serial or f"BENCH{len(lines):06d}"
        lines.append((serial, payer, memo, amount))
        expected[serial] = (status, {t.pk for t in ids}, reported)

    for _ in range(UNIT_NAMED + UNIT_NAMED_WRONG):
        index = next(apps)
        chosen = rng.sample(members[index], rng.randint(1, 4))
        due = sum(t.fee_fen for t in chosen)
        wrong = index >= UNIT_NAMED
        memo = "培训费 " + "、".join(t.name for t in chosen)
        add(
            "ambiguous" if wrong else "matched",
            applications[index].unit_name,
            memo,
            due + 5000 * wrong,
            chosen,
        )
    for n in range(UNIT_ALL + UNIT_ALL_WRONG):
        index = next(apps)
        due = sum(t.fee_fen for t in members[index])
        wrong = n >= UNIT_ALL
        status = "ambiguous" if wrong else "matched"
        add(status, applications[index].unit_name, "安全培训费", due - 10000 * wrong, members[index])
    for _ in range(PERSONAL):
        for person in members[next(apps)]:
            add("matched", person.name, f"{person.name} {person.mobile}", person.fee_fen, [person])
    paid_at = datetime.now().astimezone() - timedelta(days=1)
    for n in range(REPORTED):
        index = next(apps)
        for person in members[index]:
            wrong = n >= REPORTED - REPORTED_WRONG
            serial = f"420000{index:04d}{person.row_number}"
            payment = payment_report(
                application=applications[index],
                channel=Channel.WECHAT,
                payer_name=person.name,
                payer_mobile=person.mobile,
                amount_fen=person.fee_fen + 100 * wrong,  # the trainee typed another amount
                transaction_no=serial,
                paid_at=paid_at,
                trainees=[person],
                invoice_buyer_name=applications[index].invoice_title,
                invoice_email="i@example.com",
                ip="127.0.0.1",
            )
            status = "ambiguous" if wrong else "matched"
            add(status, person.name, "微信转账", person.fee_fen, [person], payment.pk, serial=serial)
    homonyms = [t for index in apps for t in members[index]]
    by_name: dict[str, list] = {}
    for person in homonyms:
        by_name.setdefault(person.name, []).append(person)
    for name, pair in by_name.items():
        assert len(pair) == 2 and pair[0].application_id != pair[1].application_id, name
        add("ambiguous", name, "培训费", pair[0].fee_fen, pair)
    for n in range(UNRELATED):
        add("unmatched", f"无关客户{n}", "货款", rng.randint(1000, 900_000), [])
    rng.shuffle(lines)
    rows = ["交易日期,交易流水号,对方户名,摘要,借方金额,贷方金额"]
    for n, (serial, payer, memo, amount) in enumerate(lines):
        rows.append(
            f"2026-11-{1 + n % 28:02d} 10:{n % 60:02d}:00,{serial},{payer},{memo},,{amount / 100:.2f}"
        )
    return ("\n".join(rows) + "\n").encode("utf-8"), expected


def run(report) -> None:
    with test_database("payments"):
        from payments.models import StatementLine
        from payments.services.statements import statement_import

        rng = random.Random(20261129)
        applications, trainees = _setup(rng)
        content, expected = _statement(rng, applications, trainees)
        assert len(expected) == 5000, len(expected)
        start = time.perf_counter()
        statement, created = statement_import(
            content=content, filename="bench.csv", source="bank", actor=None
        )
        elapsed = time.perf_counter() - start
        assert created and statement.credit_lines == 5000, statement.credit_lines
        wanted = {"matched": 0, "ambiguous": 0, "unmatched": 0}
        for status, _ids, _reported in expected.values():
            wanted[status] += 1
        counts = dict.fromkeys(wanted, 0)
        wrong = []
        for serial, status, ids, reported in StatementLine.objects.filter(statement=statement).values_list(
            "serial", "status", "candidate_ids", "reported_payment_id"
        ):
            counts[status] = counts.get(status, 0) + 1
            if (status, set(ids), reported) != expected[serial]:
                wrong.append((serial, status, sorted(ids), reported, expected[serial]))
        report("reconcile_5000_s", elapsed, "s")
        report("reconcile_5000_matched", counts["matched"], "lines")
        report("reconcile_5000_ambiguous", counts["ambiguous"], "lines")
        report("reconcile_5000_unmatched", counts["unmatched"], "lines")
        if counts != wanted or wrong:
            raise SystemExit(
                f"payments bench: expected {wanted}, got {counts}; {len(wrong)} lines differ: {wrong[:3]}"
            )
