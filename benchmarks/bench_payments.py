"""Payments: reconciling a 5,000-line bank statement against 10,000 outstanding trainees.

``reconcile_5000_s`` is the wall time of ``payments.services.statements.statement_import`` (parse the CSV, match
every credit in memory, store the lines) — target: under 5 s.
"""

import random
import time
from datetime import date

from .harness import test_database

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"


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
                industry="制造业",
                contact_name="联系人",
                contact_phone="13800000000",
                mail_recipient="收件人",
                mail_phone="13800000000",
                mail_address="示例路 1 号",
                invoice_title=f"示例{n}号制造有限公司",
                invoice_email="i@example.com",
            )
            for n in range(2500)
        ]
    )
    trainees = []
    for n in range(10_000):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
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
    return applications, list(Trainee.objects.select_related("application").order_by("pk"))


def _statement(rng: random.Random, applications, trainees) -> bytes:
    by_app: dict[int, list] = {}
    for trainee in trainees:
        by_app.setdefault(trainee.application_id, []).append(trainee)
    fee = {"initial": 80_000, "refresher": 30_000}
    rows = ["交易日期,交易流水号,对方户名,摘要,借方金额,贷方金额"]
    for n in range(5000):
        kind = n % 20
        app = rng.choice(applications)
        members = by_app[app.pk]
        if kind < 8:  # unit transfer naming its trainees
            chosen = rng.sample(members, rng.randint(1, len(members)))
            payer, memo = app.unit_name, "培训费 " + "、".join(t.name for t in chosen)
            amount = sum(fee[t.training_category] for t in chosen)
        elif kind < 14:  # personal QR payment with mobile in the note
            person = rng.choice(members)
            payer, memo = person.name, f"{person.name} {person.mobile}"
            amount = fee[person.training_category]
        elif kind < 17:  # unit transfer without names
            payer, memo = app.unit_name, "安全培训费"
            amount = sum(fee[t.training_category] for t in members)
        else:  # unrelated income
            payer, memo, amount = f"无关客户{n}", "货款", rng.randint(1000, 900_000)
        rows.append(
            f"2026-11-{1 + n % 28:02d} 10:{n % 60:02d}:00,BENCH{n:06d},{payer},{memo},,{amount / 100:.2f}"
        )
    return ("\n".join(rows) + "\n").encode("utf-8")


def run(report) -> None:
    with test_database():
        from payments.models import StatementLine
        from payments.services.statements import statement_import

        rng = random.Random(20261129)
        applications, trainees = _setup(rng)
        content = _statement(rng, applications, trainees)
        start = time.perf_counter()
        statement, created = statement_import(
            content=content, filename="bench.csv", source="bank", actor=None
        )
        elapsed = time.perf_counter() - start
        assert created and statement.credit_lines == 5000, statement.credit_lines
        counts = {
            status: StatementLine.objects.filter(statement=statement, status=status).count()
            for status in ("matched", "ambiguous", "unmatched")
        }
        report("reconcile_5000_s", elapsed, "s")
        report("reconcile_5000_matched", counts["matched"], "lines")
        report("reconcile_5000_ambiguous", counts["ambiguous"], "lines")
        report("reconcile_5000_unmatched", counts["unmatched"], "lines")
