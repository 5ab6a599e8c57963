"""The answers `bench_grounding.py` checks: facts of the sample bank's documents, each phrased by hand in
English, Spanish and Vietnamese, and rendered faithfully or with exactly one fact changed.

How they were written: by reading the sample documents (`samples/bank/data/docs`)
and writing, for each fact, sentences a bank assistant might say about it:
reworded, reordered, with the values in slots. Slot values are rendered in
several formats per language by `render` below: digits, words (from the
`num2words` package, not from the checker's tables), "$15.00" / "15 dollars" /
"15 đô", "9,9 %", units converted where exact (14 days as "two weeks", 24
months as "two years"), ISO, named and numeric dates; a third of the
Vietnamese answers are written without diacritics (stripped here with
`unicodedata`). A mutation changes one slot: a number, amount, percentage, date
or duration to another value (another value of the same document where there
is one, so the wrong table row is tested), a product to a sibling product, or
the sentence to its negation (each negated fact is written as a pair).

`TUNE` templates were used while tuning the checker. `SEEN` was written as a
held-out set beside them, but its failures were read and acted on (they led to
clause-level fee negation, "neither", "no more than N", "một ngày" as "per
day", and telling values apart inside one sentence), so it is tuning data now
and counted as such. `SEEN_2` was the next held-out batch: its one run as
held-out is recorded in bench/README.md, and its failures were then acted on
(negative concord, "avoid", diacritic-aware Vietnamese numerals), so it is
reported as `seen`. `HELDOUT` was written after the checker's last change and
run once; the benchmark reports it apart.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from num2words import num2words

# fact id -> (kind, value) of each slot; a duration is (count, unit), a date (y, m, d)
SLOTS: dict[str, dict[str, tuple[str, object]]] = {
    "fp_late": {"p": ("product", "FlexPay 2.0"), "fee": ("amount", 15)},
    "fp_range": {"p": ("product", "FlexPay 2.0"), "lo": ("amount", 100), "hi": ("amount", 5000)},
    "fp_apr": {"d": ("duration", (12, "month")), "r": ("percent", 9.9)},
    "fp_zero": {"d": ("duration", (6, "month")), "r": ("percent", 0)},
    "fp_max": {"n": ("number", 4)},
    "fp_setup": {"p": ("product", "FlexPay 2.0")},
    "fp_early": {"p": ("product", "FlexPay 2.0")},
    "fp_start": {"dt": ("date", (2026, 9, 1)), "old": ("product", "FlexPay 1.0")},
    "sav_goal": {"p": ("product", "Goal Saver"), "hi": ("percent", 4.10), "cap": ("amount", 10000), "lo": ("percent", 1.00)},
    "sav_ls": {"p": ("product", "Larkspur Saver"), "r": ("percent", 3.80)},
    "sav_nofee": {},
    "fee_stop": {"fee": ("amount", 30)},
    "fee_od": {"fee": ("amount", 29), "n": ("number", 2)},
    "fee_odwaive": {"amt": ("amount", 50)},
    "fee_maint": {"fee": ("amount", 5), "bal": ("amount", 500), "dd": ("amount", 250)},
    "wire_intl": {"fee": ("amount", 45)},
    "wire_limit": {"amt": ("amount", 25000)},
    "wire_days": {"d": ("duration", (3, "business_day"))},
    "disp_window": {"d": ("duration", (60, "day"))},
    "disp_credit": {"amt": ("amount", 25), "d": ("duration", (10, "business_day"))},
    "grace": {"d": ("duration", (5, "day"))},
    "holiday": {"dt": ("date", (2026, 9, 7))},
    "debit_atm": {"amt": ("amount", 500), "h": ("duration", (24, "hour"))},
    "ec_open": {"p": ("product", "Everyday Checking"), "amt": ("amount", 25)},
    "ec_dd": {"p": ("product", "Everyday Checking"), "d": ("duration", (2, "day"))},
}

# Values a slot may take and stay true (a 24-month plan also carries 9.9% APR): never used as mutations.
ALSO_TRUE = {("fp_apr", "d"): [(24, "month")], ("fp_zero", "d"): [(3, "month")],
             ("wire_days", "d"): [(1, "business_day")]}  # "1 to 1 business day" says nothing wrong to catch

# fact id -> language -> (doc id, the start of the span it cites, [starts of spans cited beside it])
SPANS: dict[str, dict[str, tuple[str, str, list[str]]]] = {
    "fp_late": {"en": ("flexpay-2-0", "A $15 late fee", ["There is no setup fee"]),
                "es": ("flexpay-2-0-es", "Cargo por pago atrasado", ["Sin cargo"]),
                "vi": ("flexpay-2-0-vi", "Phí trả chậm", ["Không có phí"])},
    "fp_range": {"en": ("flexpay-2-0", "FlexPay 2.0 covers", []), "es": ("flexpay-2-0-es", "Compras con tarjeta de", []),
                 "vi": ("flexpay-2-0-vi", "Giao dịch thẻ từ", [])},
    "fp_apr": {"en": ("flexpay-2-0", "Plans of 12 and 24", ["Plans of 3 and 6"]),
               "es": ("flexpay-2-0-es", "| 12 meses", ["| 3 meses", "| 24 meses"]),
               "vi": ("flexpay-2-0-vi", "| 12 tháng", ["| 3 tháng", "| 24 tháng"])},
    "fp_zero": {"en": ("flexpay-2-0", "Plans of 3 and 6", ["Plans of 12 and 24"]),
                "es": ("flexpay-2-0-es", "| 6 meses", ["| 12 meses"]),
                "vi": ("flexpay-2-0-vi", "| 6 tháng", ["| 12 tháng"])},
    "fp_max": {"en": ("flexpay-2-0", "You can have at most", []), "es": ("flexpay-2-0-es", "Como máximo", []),
               "vi": ("flexpay-2-0-vi", "Tối đa", [])},
    "fp_setup": {"en": ("flexpay-2-0", "There is no setup fee", []), "es": ("flexpay-2-0-es", "Sin cargo", []),
                 "vi": ("flexpay-2-0-vi", "Không có phí", [])},
    "fp_early": {lang: ("flexpay-2-0", "Paying a plan off early", []) for lang in ("en", "es", "vi")},
    "fp_start": {lang: ("flexpay-2-0", "It replaces FlexPay 1.0", []) for lang in ("en", "es", "vi")},
    "sav_goal": {"en": ("savings-rates-2026-10", "Goal Saver pays", ["| Larkspur Saver"]),
                 "es": ("savings-rates-2026-10-es", "| Goal Saver | hasta", ["| Goal Saver | la parte", "| Larkspur Saver"]),
                 "vi": ("savings-rates-2026-10-vi", "| Goal Saver | đến", ["| Goal Saver | phần", "| Larkspur Saver"])},
    "sav_ls": {"en": ("savings-rates-2026-10", "| Larkspur Saver", ["| Goal Saver | up", "| Goal Saver | portion"]),
               "es": ("savings-rates-2026-10-es", "| Larkspur Saver", ["| Goal Saver | hasta"]),
               "vi": ("savings-rates-2026-10-vi", "| Larkspur Saver", ["| Goal Saver | đến"])},
    "sav_nofee": {"en": ("savings-rates-2026-10", "There is no monthly fee", []),
                  "es": ("savings-rates-2026-10-es", "No hay cargo mensual", []),
                  "vi": ("savings-rates-2026-10-vi", "Không có phí hằng tháng", [])},
    "fee_stop": {lang: ("fee-schedule", "| Stop payment", ["| Domestic wire", "| Expedited card"]) for lang in ("en", "es", "vi")},
    "fee_od": {lang: ("fee-schedule", "| Overdraft |", ["| Overdraft transfer"]) for lang in ("en", "es", "vi")},
    "fee_odwaive": {lang: ("fee-schedule", "No overdraft fee", []) for lang in ("en", "es", "vi")},
    "fee_maint": {lang: ("fee-schedule", "The $5 monthly", []) for lang in ("en", "es", "vi")},
    "wire_intl": {"en": ("wire-transfers", "| International, outgoing", ["| Domestic, outgoing", "| Incoming, international"]),
                  "es": ("wire-transfers", "| International, outgoing", ["| Domestic, outgoing"]),
                  "vi": ("wire-transfers-vi", "| Quốc tế", ["| Trong nước"])},
    "wire_limit": {lang: ("wire-transfers", "Online wires are limited", []) for lang in ("en", "es", "vi")},
    "wire_days": {lang: ("wire-transfers", "International wires usually", []) for lang in ("en", "es", "vi")},
    "disp_window": {"en": ("disputes", "A dispute must be filed", []), "es": ("disputes-es", "Presente la disputa", []),
                    "vi": ("disputes-vi", "Khiếu nại trong vòng", [])},
    "disp_credit": {"en": ("disputes", "For disputes over $25", []), "es": ("disputes-es", "Para disputas de más", []),
                    "vi": ("disputes-vi", "Với khiếu nại trên", [])},
    "grace": {"en": ("chargeback-grace", '"Chargeback grace" is', []),
              "es": ("chargeback-grace-es", "El periodo de gracia", []),
              "vi": ("chargeback-grace-vi", '"Chargeback grace" là', [])},
    "holiday": {lang: ("holiday-schedule-2026", "| Labor Day", ["| Indigenous", "| Veterans"]) for lang in ("en", "es", "vi")},
    "debit_atm": {lang: ("debit-card-limits", "| ATM withdrawals", ["| Purchases", "A temporary increase"])
                  for lang in ("en", "es", "vi")},
    "ec_open": {lang: ("everyday-checking", "Minimum opening deposit", []) for lang in ("en", "es", "vi")},
    "ec_dd": {lang: ("everyday-checking", "Direct deposit up to", []) for lang in ("en", "es", "vi")},
}

# fact -> lang -> templates. A template is a string with {slot} fields and {c} for the citation marks, or a
# (faithful, negated) pair for a fact whose negation is the mutation.
TUNE: dict[str, dict[str, list]] = {
    "fp_late": {
        "en": ["If a {p} installment is paid late, you are charged a {fee} late fee{c}.",
               "{p} adds a late fee of {fee} when an installment misses its due date{c}."],
        "es": ["Si pagas tarde una cuota de {p}, te cobran {fee}{c}.", "El cargo por pago atrasado en {p} es de {fee}{c}."],
        "vi": ["Nếu trả chậm một kỳ {p}, bạn bị tính phí {fee}{c}.", "Phí trả chậm của {p} là {fee}{c}."],
    },
    "fp_range": {
        "en": ["{p} can split card purchases between {lo} and {hi}{c}.", "Purchases from {lo} up to {hi} qualify for {p}{c}."],
        "es": ["Con {p} puedes dividir compras de entre {lo} y {hi}{c}."],
        "vi": ["{p} áp dụng cho giao dịch thẻ từ {lo} đến {hi}{c}."],
    },
    "fp_apr": {
        "en": ["A {d} plan carries {r} APR{c}.", "If you pick {d}, the APR is {r}{c}."],
        "es": ["Un plan de {d} tiene una APR de {r}{c}."],
        "vi": ["Gói {d} có lãi suất {r} APR{c}."],
    },
    "fp_zero": {
        "en": ["A {d} plan costs {r} APR{c}."],
        "es": ["Con un plan de {d} pagas {r} APR{c}."],
        "vi": ["Gói {d} có APR {r}{c}."],
    },
    "fp_max": {
        "en": ["No more than {n} plans can be active at once{c}."],
        "es": ["Puedes tener hasta {n} planes activos al mismo tiempo{c}."],
        "vi": ["Bạn có thể có tối đa {n} gói cùng lúc{c}."],
    },
    "fp_setup": {
        "en": [("Opening a {p} plan comes with no setup fee{c}.", "Opening a {p} plan comes with a setup fee{c}."),
               ("Setting up a plan is free{c}.", "Setting up a plan is not free{c}.")],
        "es": [("Abrir un plan de {p} no tiene cargo{c}.", "Abrir un plan de {p} tiene un cargo{c}."),
               ("No se cobra cargo de apertura{c}.", "Se cobra un cargo de apertura{c}.")],
        "vi": [("Mở gói {p} không tính phí thiết lập{c}.", "Mở gói {p} có tính phí thiết lập{c}.")],
    },
    "fp_early": {
        "en": [("You can pay off a {p} plan early at no cost{c}.", "Paying off a {p} plan early costs extra{c}.")],
        "es": [("Pagar el plan antes de tiempo es gratis{c}.", "Pagar el plan antes de tiempo tiene un costo{c}.")],
        "vi": [("Trả hết gói sớm không mất phí{c}.", "Trả hết gói sớm sẽ bị tính phí{c}.")],
    },
    "fp_start": {
        "en": ["Plans opened on or after {dt} use FlexPay 2.0 instead of {old}{c}."],
        "es": ["Desde el {dt}, FlexPay 2.0 reemplaza a {old}{c}."],
        "vi": ["Từ {dt}, FlexPay 2.0 thay thế {old}{c}."],
    },
    "sav_goal": {
        "en": ["{p} earns {hi} APY on balances up to {cap}, and {lo} APY above that{c}.",
               "On the first {cap} in a {p}, you get {hi} APY{c}."],
        "es": ["{p} paga {hi} APY hasta {cap}{c}."],
        "vi": ["{p} trả {hi} APY cho số dư đến {cap}{c}."],
    },
    "sav_ls": {
        "en": ["{p} pays {r} APY on every balance{c}."],
        "es": ["{p} paga {r} APY en todos los saldos{c}."],
        "vi": ["Tài khoản {p} có lãi suất {r} APY{c}."],
    },
    "sav_nofee": {
        "en": [("Savings accounts have no monthly fee{c}.", "Savings accounts have a monthly fee{c}."),
               ("You won't pay a monthly fee on savings{c}.", "You will pay a monthly fee on savings{c}.")],
        "es": [("Las cuentas de ahorro no tienen cargo mensual{c}.", "Las cuentas de ahorro tienen un cargo mensual{c}.")],
        "vi": [("Tài khoản tiết kiệm không có phí hằng tháng{c}.", "Tài khoản tiết kiệm có phí hằng tháng{c}.")],
    },
    "fee_stop": {
        "en": ["A stop payment costs {fee}{c}.", "Stopping a payment is a {fee} fee{c}."],
        "es": ["Una orden de stop payment cuesta {fee}{c}."],
        "vi": ["Phí stop payment (ngừng thanh toán) là {fee}{c}."],
    },
    "fee_od": {
        "en": ["Each overdraft costs {fee}, and you can be charged at most {n} times a day{c}."],
        "es": ["El cargo por overdraft (sobregiro) es de {fee}, como máximo {n} veces por día{c}."],
        "vi": ["Phí overdraft (thấu chi) là {fee}, tối đa {n} lần mỗi ngày{c}."],
    },
    "fee_odwaive": {
        "en": [("If you are overdrawn by {amt} or less, there is no overdraft fee{c}.",
                "If you are overdrawn by {amt} or less, an overdraft fee is charged{c}.")],
        "es": [("Si el sobregiro es de {amt} o menos, no se cobra cargo{c}.",
                "Si el sobregiro es de {amt} o menos, se cobra un cargo{c}.")],
        "vi": [("Nếu thấu chi từ {amt} trở xuống thì không tính phí{c}.", "Nếu thấu chi từ {amt} trở xuống thì vẫn tính phí{c}.")],
    },
    "fee_maint": {
        "en": ["Keep a {bal} minimum daily balance or get {dd} in direct deposits a month and the {fee} maintenance fee is waived{c}."],
        "es": ["La comisión de mantenimiento de {fee} se exonera con un saldo mínimo diario de {bal}{c}."],
        "vi": ["Phí duy trì {fee} được miễn nếu số dư tối thiểu hằng ngày là {bal}{c}."],
    },
    "wire_intl": {
        "en": ["Sending an international wire costs {fee}{c}."],
        "es": ["Una transferencia internacional saliente cuesta {fee}{c}."],
        "vi": ["Phí chuyển tiền quốc tế là {fee}{c}."],
    },
    "wire_limit": {
        "en": ["You can send up to {amt} a day in online wires{c}."],
        "es": ["Las transferencias en línea tienen un límite de {amt} por día{c}."],
        "vi": ["Chuyển khoản trực tuyến giới hạn {amt} mỗi ngày{c}."],
    },
    "wire_days": {
        "en": ["An international wire normally takes 1 to {d} to arrive{c}."],
        "es": ["Una transferencia internacional suele llegar en 1 a {d}{c}."],
        "vi": ["Chuyển khoản quốc tế thường đến trong 1 đến {d}{c}."],
    },
    "disp_window": {
        "en": ["You have {d} from the statement date to dispute a charge{c}."],
        "es": ["Tienes {d} desde la fecha del estado de cuenta para presentar la disputa{c}."],
        "vi": ["Bạn có {d} kể từ ngày sao kê để khiếu nại{c}."],
    },
    "disp_credit": {
        "en": ["If the dispute is over {amt}, provisional credit arrives within {d}{c}."],
        "es": ["Para disputas de más de {amt}, el crédito provisional llega en {d}{c}."],
        "vi": ["Với khiếu nại trên {amt}, tín dụng tạm thời được ghi có trong {d}{c}."],
    },
    "grace": {
        "en": ["Chargeback grace lasts {d} after the merchant promises a refund{c}."],
        "es": ["La gracia de contracargo dura {d} después de que el comercio promete el reembolso{c}."],
        "vi": ["Thời gian ân hạn bồi hoàn kéo dài {d} sau khi người bán hứa hoàn tiền{c}."],
    },
    "holiday": {
        "en": ["Branches are closed for Labor Day on {dt}{c}."],
        "es": ["Las sucursales cierran por Labor Day el {dt}{c}."],
        "vi": ["Chi nhánh đóng cửa ngày lễ Labor Day, {dt}{c}."],
    },
    "debit_atm": {
        "en": ["You can take out up to {amt} a day at ATMs{c}."],
        "es": ["Puedes retirar hasta {amt} al día en cajeros (ATM withdrawals){c}."],
        "vi": ["Bạn có thể rút tối đa {amt} mỗi ngày tại ATM{c}."],
    },
    "ec_open": {
        "en": ["{p} needs a {amt} opening deposit{c}."],
        "es": ["Para abrir {p} necesitas un depósito de apertura de {amt}{c}."],
        "vi": ["Mở tài khoản {p} cần khoản tiền gửi ban đầu {amt}{c}."],
    },
    "ec_dd": {
        "en": ["With {p}, direct deposits can arrive up to {d} early{c}."],
        "es": ["Con {p}, el depósito directo puede llegar hasta {d} antes{c}."],
        "vi": ["Với {p}, tiền gửi trực tiếp có thể đến sớm tới {d}{c}."],
    },
}

SEEN: dict[str, dict[str, list]] = {  # the first held-out batch: looked at while tuning, so tuning data now
    "fp_late": {
        "en": ["Miss a payment on a {p} plan and there's a {fee} charge for it{c}."],
        "es": ["En {p}, un pago tardío tiene un recargo de {fee}{c}."],
        "vi": ["Trả trễ hạn một kỳ {p} sẽ mất {fee} phí trả chậm{c}."],
    },
    "fp_range": {
        "en": ["The smallest purchase you can split with {p} is {lo} and the largest is {hi}{c}."],
        "es": ["{p} acepta compras desde {lo} hasta {hi}{c}."],
        "vi": ["Giao dịch từ {lo} tới {hi} có thể chia trả góp với {p}{c}."],
    },
    "fp_apr": {
        "en": ["The APR on {d} plans is {r}, charged on what remains of the plan{c}."],
        "es": ["Para un plazo de {d}, la tasa es {r} APR{c}."],
        "vi": ["Nếu chọn kỳ hạn {d}, APR là {r}{c}."],
    },
    "fp_max": {
        "en": ["You may keep up to {n} active plans at the same time{c}."],
        "es": ["El máximo es de {n} planes activos{c}."],
        "vi": ["Mỗi lúc chỉ được có tối đa {n} gói đang hoạt động{c}."],
    },
    "fp_setup": {
        "en": [("{p} does not charge anything to set up a plan{c}.", "{p} charges a fee to set up a plan{c}.")],
        "es": [("La apertura del plan es gratis{c}.", "La apertura del plan no es gratis{c}.")],
        "vi": [("Thiết lập gói được miễn phí{c}.", "Thiết lập gói phải trả phí{c}.")],
    },
    "sav_goal": {
        "en": ["Above {cap}, a {p} pays {lo} APY{c}."],
        "es": ["Por encima de {cap}, {p} paga {lo} APY{c}."],
        "vi": ["Phần trên {cap} của {p} được hưởng {lo} APY{c}."],
    },
    "sav_nofee": {
        "en": [("Neither savings account charges a monthly fee{c}.", "Both savings accounts charge a monthly fee{c}.")],
        "es": [("No se cobra comisión mensual en el ahorro{c}.", "Se cobra una comisión mensual en el ahorro{c}.")],
        "vi": [("Không thu phí hàng tháng đối với tài khoản tiết kiệm{c}.", "Có thu phí hàng tháng đối với tài khoản tiết kiệm{c}.")],
    },
    "fee_stop": {
        "en": ["It's {fee} to stop a payment{c}."],
        "es": ["Detener un pago (stop payment) tiene un costo de {fee}{c}."],
        "vi": ["Muốn ngừng một khoản thanh toán (stop payment) bạn trả {fee}{c}."],
    },
    "fee_maint": {
        "en": ["The {fee} monthly maintenance fee is not charged if you get {dd} in direct deposits in the month{c}."],
        "es": ["Con {dd} en depósitos directos al mes no pagas la comisión de {fee}{c}."],
        "vi": ["Có {dd} tiền gửi trực tiếp mỗi tháng thì được miễn phí duy trì {fee}{c}."],
    },
    "disp_window": {
        "en": ["File your dispute no later than {d} after the statement date{c}."],
        "es": ["La disputa se presenta dentro de {d} a partir del estado de cuenta{c}."],
        "vi": ["Hạn khiếu nại là {d} tính từ ngày sao kê{c}."],
    },
    "wire_intl": {
        "en": ["Outgoing international wires have a {fee} fee{c}."],
        "es": ["Enviar una transferencia al extranjero (international, outgoing) cuesta {fee}{c}."],
        "vi": ["Chuyển tiền đi quốc tế mất phí {fee}{c}."],
    },
    "debit_atm": {
        "en": ["A temporary limit increase lasts {h}{c}."],
        "es": ["Un aumento temporal del límite dura {h}{c}."],
        "vi": ["Việc tăng hạn mức tạm thời có hiệu lực trong {h}{c}."],
    },
    "fp_zero": {
        "en": ["Choose {d} and you pay {r} APR{c}."],
        "es": ["Si eliges {d}, la APR es del {r}{c}."],
        "vi": ["Kỳ hạn {d} thì APR chỉ {r}{c}."],
    },
    "fp_early": {
        "en": [("Settling a {p} plan ahead of schedule is free of charge{c}.",
                "Settling a {p} plan ahead of schedule comes with a charge{c}.")],
        "es": [("Liquidar un plan de {p} por adelantado no cuesta nada{c}.",
                "Liquidar un plan de {p} por adelantado tiene un cargo{c}.")],
        "vi": [("Tất toán gói {p} trước hạn được miễn phí{c}.", "Tất toán gói {p} trước hạn phải trả phí{c}.")],
    },
    "sav_ls": {
        "en": ["Whatever your balance, {p} earns {r} APY{c}."],
        "es": ["La cuenta {p} rinde {r} APY sin importar el saldo{c}."],
        "vi": ["Với mọi số dư, {p} được hưởng {r} APY{c}."],
    },
    "fee_od": {
        "en": ["An overdraft is {fee} each time, with no more than {n} charged per day{c}."],
        "es": ["Cada overdraft cuesta {fee} y se cobran como mucho {n} al día{c}."],
        "vi": ["Mỗi lần overdraft mất {fee}, tối đa {n} lần một ngày{c}."],
    },
    "fee_odwaive": {
        "en": [("You won't be charged an overdraft fee when the overdraft is {amt} or less{c}.",
                "You will be charged an overdraft fee when the overdraft is {amt} or less{c}.")],
        "es": [("Un sobregiro de {amt} o menos no genera cargo{c}.", "Un sobregiro de {amt} o menos genera un cargo{c}.")],
        "vi": [("Thấu chi không quá {amt} thì không bị tính phí{c}.", "Thấu chi không quá {amt} thì bị tính phí{c}.")],
    },
    "wire_limit": {
        "en": ["The daily cap for online wires is {amt}{c}."],
        "es": ["El tope diario de las transferencias por internet es {amt}{c}."],
        "vi": ["Hạn mức chuyển khoản online là {amt} một ngày{c}."],
    },
    "wire_days": {
        "en": ["Expect an international wire to land within 1 to {d}{c}."],
        "es": ["Las transferencias internacionales tardan normalmente de 1 a {d}{c}."],
        "vi": ["Tiền chuyển quốc tế thường mất 1 đến {d} để tới nơi{c}."],
    },
    "disp_credit": {
        "en": ["We credit disputes above {amt} provisionally within {d} of filing{c}."],
        "es": ["Si la disputa supera {amt}, te damos crédito provisional en {d}{c}."],
        "vi": ["Khiếu nại hơn {amt} được ghi có tạm thời trong vòng {d}{c}."],
    },
    "grace": {
        "en": ["After a merchant promises a refund, we wait {d} before filing the chargeback{c}."],
        "es": ["Esperamos {d} tras la promesa de reembolso del comercio{c}."],
        "vi": ["Ngân hàng chờ {d} sau khi người bán hứa hoàn tiền{c}."],
    },
    "holiday": {
        "en": ["Labor Day, {dt}, is a branch holiday{c}."],
        "es": ["El {dt} (Labor Day) las sucursales no abren{c}."],
        "vi": ["Ngày {dt} (Labor Day) chi nhánh nghỉ{c}."],
    },
    "ec_open": {
        "en": ["To open {p} you deposit at least {amt}{c}."],
        "es": ["El depósito mínimo para abrir {p} es de {amt}{c}."],
        "vi": ["Số tiền gửi tối thiểu để mở {p} là {amt}{c}."],
    },
    "ec_dd": {
        "en": ["{p} can post your direct deposit as much as {d} ahead{c}."],
        "es": ["{p} adelanta el depósito directo hasta {d}{c}."],
        "vi": ["{p} có thể nhận tiền gửi trực tiếp sớm tới {d}{c}."],
    },
    "fp_start": {
        "en": ["Since {dt}, FlexPay 2.0 has replaced {old} for new plans{c}."],
        "es": ["Los planes abiertos a partir del {dt} usan FlexPay 2.0 y no {old}{c}."],
        "vi": ["Các gói mở từ {dt} trở đi dùng FlexPay 2.0 thay cho {old}{c}."],
    },
}

SEEN_2: dict[str, dict[str, list]] = {  # the second held-out batch: run once as such, then acted on
    "fp_late": {
        "en": ["Heads up: {p} charges {fee} if an installment comes in after the due date{c}."],
        "es": ["Ojo: si una cuota de {p} se paga después del vencimiento, hay un cargo de {fee}{c}."],
        "vi": ["Lưu ý: {p} thu {fee} nếu một kỳ được trả sau ngày đến hạn{c}."],
    },
    "fp_range": {
        "en": ["To be eligible for {p}, a card purchase has to be at least {lo} and no more than {hi}{c}."],
        "es": ["Para usar {p}, la compra debe ser de {lo} como mínimo y {hi} como máximo{c}."],
        "vi": ["Để dùng {p}, giao dịch phải từ {lo} trở lên và không vượt quá {hi}{c}."],
    },
    "fp_apr": {
        "en": ["Pick a {d} term and the plan's APR is {r}{c}."],
        "es": ["Un plazo de {d} lleva {r} de APR{c}."],
        "vi": ["Với kỳ hạn {d}, APR của gói là {r}{c}."],
    },
    "fp_zero": {
        "en": ["There's {r} APR on the {d} option{c}."],
        "es": ["La opción de {d} tiene una APR del {r}{c}."],
        "vi": ["Lựa chọn {d} có APR là {r}{c}."],
    },
    "fp_max": {
        "en": ["At any one time you can run {n} plans at most{c}."],
        "es": ["No puedes tener más de {n} planes activos a la vez{c}."],
        "vi": ["Bạn chỉ được mở tối đa {n} gói cùng một lúc{c}."],
    },
    "fp_setup": {
        "en": [("Good news: starting a {p} plan carries no setup charge{c}.",
                "Note that starting a {p} plan carries a setup charge{c}.")],
        "es": [("Con {p} no pagas nada por abrir el plan{c}.", "Con {p} pagas un cargo por abrir el plan{c}.")],
        "vi": [("Mở gói {p} không mất phí thiết lập nào{c}.", "Mở gói {p} phải trả phí thiết lập{c}.")],
    },
    "fp_early": {
        "en": [("Paying your plan off before the end costs nothing extra{c}.",
                "Paying your plan off before the end costs an extra fee{c}.")],
        "es": [("Puedes saldar el plan antes sin ningún costo{c}.", "Puedes saldar el plan antes pagando un costo{c}.")],
        "vi": [("Trả hết gói trước thời hạn không bị thu phí{c}.", "Trả hết gói trước thời hạn sẽ bị thu phí{c}.")],
    },
    "fp_start": {
        "en": ["{old} stopped being used for new plans on {dt}, when FlexPay 2.0 took over{c}."],
        "es": ["A partir del {dt}, los planes nuevos usan FlexPay 2.0 en vez de {old}{c}."],
        "vi": ["Kể từ {dt}, gói mới dùng FlexPay 2.0 thay vì {old}{c}."],
    },
    "sav_goal": {
        "en": ["Up to {cap}, {p} balances earn {hi} APY{c}."],
        "es": ["Los saldos de {p} hasta {cap} ganan {hi} APY{c}."],
        "vi": ["Số dư {p} đến {cap} được {hi} APY{c}."],
    },
    "sav_ls": {
        "en": ["The {p} rate is {r} APY, whatever the balance{c}."],
        "es": ["{p} tiene una tasa de {r} APY para cualquier saldo{c}."],
        "vi": ["Lãi suất {p} là {r} APY cho mọi mức số dư{c}."],
    },
    "sav_nofee": {
        "en": [("Our savings accounts don't carry a monthly fee{c}.", "Our savings accounts do carry a monthly fee{c}.")],
        "es": [("Las cuentas de ahorro no cobran cargo mensual{c}.", "Las cuentas de ahorro cobran un cargo mensual{c}.")],
        "vi": [("Tài khoản tiết kiệm không tính phí hàng tháng{c}.", "Tài khoản tiết kiệm có tính phí hàng tháng{c}.")],
    },
    "fee_stop": {
        "en": ["Placing a stop payment will cost you {fee}{c}."],
        "es": ["El stop payment (detener un pago) tiene un cargo de {fee}{c}."],
        "vi": ["Yêu cầu stop payment có phí {fee}{c}."],
    },
    "fee_od": {
        "en": ["Overdrafts are {fee} apiece, capped at {n} per day{c}."],
        "es": ["Cada sobregiro (overdraft) cuesta {fee}, con un máximo de {n} por día{c}."],
        "vi": ["Phí overdraft là {fee} mỗi lần, tối đa {n} lần trong ngày{c}."],
    },
    "fee_odwaive": {
        "en": [("Being overdrawn by {amt} or under doesn't trigger an overdraft fee{c}.",
                "Being overdrawn by {amt} or under does trigger an overdraft fee{c}.")],
        "es": [("Si te sobregiras por {amt} o menos, no hay cargo por sobregiro{c}.",
                "Si te sobregiras por {amt} o menos, hay cargo por sobregiro{c}.")],
        "vi": [("Âm tài khoản từ {amt} trở xuống sẽ không bị tính phí thấu chi{c}.",
                "Âm tài khoản từ {amt} trở xuống sẽ bị tính phí thấu chi{c}.")],
    },
    "fee_maint": {
        "en": ["You avoid the {fee} monthly maintenance fee by keeping at least {bal} every day{c}."],
        "es": ["Manteniendo un saldo diario mínimo de {bal} te ahorras la comisión mensual de {fee}{c}."],
        "vi": ["Giữ số dư tối thiểu {bal} mỗi ngày để được miễn phí duy trì {fee} hằng tháng{c}."],
    },
    "wire_intl": {
        "en": ["The fee for an outgoing international wire is {fee}{c}."],
        "es": ["Mandar un wire internacional cuesta {fee}{c}."],
        "vi": ["Chuyển tiền quốc tế đi sẽ tốn {fee}{c}."],
    },
    "wire_limit": {
        "en": ["Online, you can wire at most {amt} per day{c}."],
        "es": ["Por la banca en línea puedes enviar hasta {amt} diarios en transferencias{c}."],
        "vi": ["Qua kênh trực tuyến, mỗi ngày chuyển tối đa {amt}{c}."],
    },
    "wire_days": {
        "en": ["International wires generally take between 1 and {d}{c}."],
        "es": ["Un giro internacional tarda por lo general entre 1 y {d}{c}."],
        "vi": ["Chuyển tiền quốc tế thường mất từ 1 đến {d}{c}."],
    },
    "disp_window": {
        "en": ["The deadline to dispute is {d} after the statement date{c}."],
        "es": ["El plazo para disputar es de {d} desde la fecha del estado de cuenta{c}."],
        "vi": ["Thời hạn khiếu nại là trong vòng {d} tính từ ngày sao kê{c}."],
    },
    "disp_credit": {
        "en": ["For a dispute above {amt}, you'll see provisional credit within {d}{c}."],
        "es": ["En disputas mayores de {amt} recibes crédito provisional dentro de {d}{c}."],
        "vi": ["Khiếu nại lớn hơn {amt} sẽ được ghi có tạm thời trong {d}{c}."],
    },
    "grace": {
        "en": ["The chargeback grace window is {d} from the merchant's refund promise{c}."],
        "es": ["El periodo de gracia es de {d} desde que el comercio promete devolver el dinero{c}."],
        "vi": ["Thời gian ân hạn là {d} kể từ khi người bán hứa hoàn tiền{c}."],
    },
    "holiday": {
        "en": ["We're closed on {dt} for Labor Day{c}."],
        "es": ["Cerramos el {dt} por Labor Day{c}."],
        "vi": ["Chúng tôi nghỉ vào {dt} nhân dịp Labor Day{c}."],
    },
    "debit_atm": {
        "en": ["Your daily ATM withdrawal limit is {amt}{c}."],
        "es": ["El límite diario para retirar en cajero (ATM) es de {amt}{c}."],
        "vi": ["Hạn mức rút tiền ATM mỗi ngày là {amt}{c}."],
    },
    "ec_open": {
        "en": ["You'll need {amt} to open {p}{c}."],
        "es": ["Abrir {p} requiere un depósito inicial de {amt}{c}."],
        "vi": ["Cần {amt} để mở tài khoản {p}{c}."],
    },
    "ec_dd": {
        "en": ["Direct deposits into {p} can land up to {d} early{c}."],
        "es": ["En {p}, tu depósito directo puede llegar hasta {d} antes{c}."],
        "vi": ["Tiền lương gửi trực tiếp vào {p} có thể về sớm tới {d}{c}."],
    },
}

HELDOUT: dict[str, dict[str, list]] = {  # the third batch: written after the checker's last change; run once
    "fp_late": {
        "en": ["Late on a {p} installment? That's a {fee} fee{c}."],
        "es": ["Pagar una cuota de {p} con retraso te cuesta {fee}{c}."],
        "vi": ["Chậm trả một kỳ {p} thì mất phí {fee}{c}."],
    },
    "fp_range": {
        "en": ["{p} works for card purchases from {lo} through {hi}{c}."],
        "es": ["{p} sirve para compras con tarjeta entre {lo} y {hi}{c}."],
        "vi": ["{p} dành cho giao dịch thẻ trong khoảng {lo} đến {hi}{c}."],
    },
    "fp_apr": {
        "en": ["On a {d} plan you'd pay {r} APR{c}."],
        "es": ["La tasa de un plan a {d} es {r} APR{c}."],
        "vi": ["Trả góp {d} chịu APR {r}{c}."],
    },
    "fp_zero": {
        "en": ["The {d} plan is at {r} APR{c}."],
        "es": ["A {d}, la APR es de {r}{c}."],
        "vi": ["Gói trả góp {d} có APR ở mức {r}{c}."],
    },
    "fp_max": {
        "en": ["The cap is {n} active plans per customer at once{c}."],
        "es": ["Se permiten {n} planes activos como máximo{c}."],
        "vi": ["Mỗi khách hàng có tối đa {n} gói hoạt động cùng lúc{c}."],
    },
    "fp_setup": {
        "en": [("There's nothing to pay to set up a {p} plan{c}.", "There's a fee to pay to set up a {p} plan{c}.")],
        "es": [("Abrir el plan no tiene costo alguno{c}.", "Abrir el plan tiene un costo{c}.")],
        "vi": [("Không có phí khi mở gói {p}{c}.", "Có phí khi mở gói {p}{c}.")],
    },
    "fp_early": {
        "en": [("Early payoff of a plan is free{c}.", "Early payoff of a plan is not free{c}.")],
        "es": [("Liquidar antes el plan es gratuito{c}.", "Liquidar antes el plan no es gratuito{c}.")],
        "vi": [("Tất toán sớm không tốn phí{c}.", "Tất toán sớm vẫn tốn phí{c}.")],
    },
    "fp_start": {
        "en": ["From {dt} on, new plans are FlexPay 2.0 rather than {old}{c}."],
        "es": ["Desde el {dt} ya no se abren planes de {old}, sino de FlexPay 2.0{c}."],
        "vi": ["Từ {dt}, các gói mới là FlexPay 2.0 chứ không còn là {old}{c}."],
    },
    "sav_goal": {
        "en": ["A {p} pays {hi} APY for the first {cap}{c}."],
        "es": ["{p} da {hi} APY por los primeros {cap}{c}."],
        "vi": ["{p} trả {hi} APY cho {cap} đầu tiên{c}."],
    },
    "sav_ls": {
        "en": ["Every {p} balance earns {r} APY{c}."],
        "es": ["En {p} todos los saldos ganan {r} APY{c}."],
        "vi": ["Mọi số dư trong {p} đều hưởng {r} APY{c}."],
    },
    "sav_nofee": {
        "en": [("There's no monthly charge on savings{c}.", "There's a monthly charge on savings{c}.")],
        "es": [("El ahorro no tiene comisión mensual{c}.", "El ahorro tiene una comisión mensual{c}.")],
        "vi": [("Tiết kiệm không mất phí hàng tháng{c}.", "Tiết kiệm có mất phí hàng tháng{c}.")],
    },
    "fee_stop": {
        "en": ["Stop payments are {fee} each{c}."],
        "es": ["Cada stop payment cuesta {fee}{c}."],
        "vi": ["Mỗi lệnh stop payment có giá {fee}{c}."],
    },
    "fee_od": {
        "en": ["You'll pay {fee} per overdraft, for up to {n} a day{c}."],
        "es": ["Pagas {fee} por cada sobregiro, hasta {n} al día{c}."],
        "vi": ["Bạn trả {fee} cho mỗi lần thấu chi, nhiều nhất {n} lần mỗi ngày{c}."],
    },
    "fee_odwaive": {
        "en": [("An overdraft of {amt} or less comes with no fee{c}.", "An overdraft of {amt} or less comes with a fee{c}.")],
        "es": [("No cobramos sobregiros de {amt} o menos{c}.", "Cobramos los sobregiros de {amt} o menos{c}.")],
        "vi": [("Thấu chi {amt} trở xuống được miễn phí{c}.", "Thấu chi {amt} trở xuống vẫn bị thu phí{c}.")],
    },
    "fee_maint": {
        "en": ["Get {dd} of direct deposits in a month and the {fee} fee is waived{c}."],
        "es": ["Con {dd} de depósitos directos en el mes, la comisión de {fee} queda exenta{c}."],
        "vi": ["Nhận {dd} tiền gửi trực tiếp trong tháng thì được miễn phí {fee}{c}."],
    },
    "wire_intl": {
        "en": ["It costs {fee} to send a wire abroad{c}."],
        "es": ["Un wire internacional saliente vale {fee}{c}."],
        "vi": ["Gửi tiền ra nước ngoài (wire quốc tế) tốn {fee}{c}."],
    },
    "wire_limit": {
        "en": ["Online wires top out at {amt} a day{c}."],
        "es": ["En línea, el máximo diario para transferencias es {amt}{c}."],
        "vi": ["Giới hạn chuyển khoản online mỗi ngày là {amt}{c}."],
    },
    "wire_days": {
        "en": ["Give an international wire 1 to {d} to arrive{c}."],
        "es": ["Cuenta con 1 a {d} para que llegue un giro internacional{c}."],
        "vi": ["Tiền chuyển quốc tế về trong khoảng 1 đến {d}{c}."],
    },
    "disp_window": {
        "en": ["Disputes have to be in within {d} of the statement date{c}."],
        "es": ["Hay {d} a partir del estado de cuenta para disputar{c}."],
        "vi": ["Phải khiếu nại trong {d} kể từ ngày sao kê{c}."],
    },
    "disp_credit": {
        "en": ["Provisional credit for disputes over {amt} comes within {d}{c}."],
        "es": ["El crédito provisional, para disputas de más de {amt}, llega en un plazo de {d}{c}."],
        "vi": ["Tín dụng tạm thời cho khiếu nại trên {amt} có trong vòng {d}{c}."],
    },
    "grace": {
        "en": ["We hold your dispute open for {d} once the merchant promises a refund{c}."],
        "es": ["Mantenemos la disputa abierta {d} cuando el comercio promete reembolsar{c}."],
        "vi": ["Khiếu nại được giữ mở {d} sau khi người bán hứa hoàn tiền{c}."],
    },
    "holiday": {
        "en": ["On {dt} (Labor Day) branches don't open{c}."],
        "es": ["Por Labor Day, el {dt} no abrimos sucursales{c}."],
        "vi": ["Vào {dt} (Labor Day) các chi nhánh không mở cửa{c}."],
    },
    "debit_atm": {
        "en": ["ATMs will give you up to {amt} per day{c}."],
        "es": ["En cajeros (ATM) puedes sacar hasta {amt} por día{c}."],
        "vi": ["Mỗi ngày bạn rút được tối đa {amt} ở ATM{c}."],
    },
    "ec_open": {
        "en": ["The minimum to open {p} is {amt}{c}."],
        "es": ["{p} se abre con un depósito mínimo de {amt}{c}."],
        "vi": ["{p} yêu cầu tiền gửi mở tài khoản tối thiểu {amt}{c}."],
    },
    "ec_dd": {
        "en": ["{p} may credit a direct deposit up to {d} before payday{c}."],
        "es": ["Con {p} el depósito directo puede adelantarse hasta {d}{c}."],
        "vi": ["{p} có thể ghi có tiền gửi trực tiếp sớm hơn tới {d}{c}."],
    },
}

SIBLINGS = {"FlexPay 2.0": ["FlexPay 1.0", "FlexPay 3.0"], "FlexPay 1.0": ["FlexPay 2.0", "FlexPay 3.0"], "Goal Saver": ["Larkspur Saver"],
            "Larkspur Saver": ["Goal Saver"], "Everyday Checking": ["Rewards Checking"]}

# -- rendering -------------------------------------------------------------------------------------------

_MONTHS = {"en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                  "November", "December"],
           "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
                  "noviembre", "diciembre"]}
_UNIT = {  # (singular, plural)
    "en": {"day": ("day", "days"), "week": ("week", "weeks"), "month": ("month", "months"), "year": ("year", "years"),
           "business_day": ("business day", "business days"), "hour": ("hour", "hours")},
    "es": {"day": ("día", "días"), "week": ("semana", "semanas"), "month": ("mes", "meses"), "year": ("año", "años"),
           "business_day": ("día hábil", "días hábiles"), "hour": ("hora", "horas")},
    "vi": {"day": ("ngày", "ngày"), "week": ("tuần", "tuần"), "month": ("tháng", "tháng"), "year": ("năm", "năm"),
           "business_day": ("ngày làm việc", "ngày làm việc"), "hour": ("giờ", "giờ")},
}


def words(n: float, lang: str) -> str:
    return num2words(int(n), lang=lang)


def digits(x: float, lang: str, *, decimals: int | None = None) -> str:
    """Digits with the language's separators (es/vi: 9,9 and 5.000; en: 9.9 and 5,000)."""
    s = f"{x:,.{decimals}f}" if decimals is not None else (f"{int(x):,}" if float(x).is_integer() else f"{x:,}")
    if lang in ("es", "vi"):
        s = s.replace(",", "_").replace(".", ",").replace("_", ".")
    return s


def render(kind: str, value, lang: str, style: int) -> str:
    """`value` of `kind` written in language `lang`, format number `style` (cycled)."""
    if kind == "amount":
        v = float(value)
        whole = v.is_integer() and v <= 100
        forms = {
            "en": [f"${digits(v, 'en')}", f"${v:,.2f}", f"{digits(v, 'en')} dollars",
                   f"{words(v, 'en')} dollars" if whole else f"US${digits(v, 'en')}", f"USD {digits(v, 'en')}"],
            "es": [f"${digits(v, 'en')}", f"{digits(v, 'es')} dólares", f"{words(v, 'es')} dólares" if whole else
                   f"US$ {digits(v, 'es')}", f"{digits(v, 'es', decimals=2)} $", f"{digits(v, 'es')} USD"],
            "vi": [f"${digits(v, 'en')}", f"{digits(v, 'vi')} đô", f"{digits(v, 'vi')} đô la",
                   f"{words(v, 'vi')} đô la" if whole else f"{digits(v, 'vi')} USD", f"{digits(v, 'vi')} USD"],
        }[lang]
    elif kind == "percent":
        v = float(value)
        forms = {
            "en": [f"{v:g}%", f"{v:g} percent", f"{words(v, 'en')} percent" if v.is_integer() else f"{v:.2f}%"],
            "es": [f"{digits(v, 'es')} %", f"{digits(v, 'es')}%", f"{digits(v, 'es')} por ciento"],
            "vi": [f"{digits(v, 'vi')}%", f"{v:g}%", f"{digits(v, 'vi')} phần trăm"],
        }[lang]
    elif kind == "number":
        forms = [str(value), words(value, lang)]
    elif kind == "duration":
        count, unit = value
        forms = [_duration(count, unit, lang, False), _duration(count, unit, lang, True)]
        if unit == "day" and count % 7 == 0:
            forms.append(_duration(count // 7, "week", lang, True))
        if unit == "month" and count % 12 == 0:
            forms.append(_duration(count // 12, "year", lang, True))
    elif kind == "date":
        y, m, d = value
        forms = {
            "en": [f"{_MONTHS['en'][m - 1]} {d}, {y}", f"{d} {_MONTHS['en'][m - 1]} {y}", f"{y}-{m:02d}-{d:02d}"],
            "es": [f"{d} de {_MONTHS['es'][m - 1]} de {y}", f"{d:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{d:02d}"],
            "vi": [f"ngày {d} tháng {m} năm {y}", f"{d}/{m}/{y}", f"{y}-{m:02d}-{d:02d}"],
        }[lang]
    else:
        forms = [str(value)]
    return forms[style % len(forms)]


def _duration(count: int, unit: str, lang: str, as_words: bool) -> str:
    one, many = _UNIT[lang][unit]
    if lang == "en" and count == 1:
        return f"one {one}" if as_words else f"1 {one}"
    n = words(count, lang) if as_words else str(count)
    if lang == "es" and count == 1:
        n = "un" if as_words else "1"
        return f"{n} {one}"
    return f"{n} {many}"


def strip_marks(text: str) -> str:
    """Vietnamese as typed without diacritics (đ -> d)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# -- mutations ------------------------------------------------------------------------------------------

_POOL = {"amount": [5, 10, 15, 20, 25, 29, 30, 35, 45, 50, 100, 250, 500, 1000, 2500, 3000, 5000, 10000, 25000],
         "percent": [0, 1.0, 1.5, 2.9, 3.8, 4.1, 4.5, 9.9, 12.9, 19.9], "number": [1, 2, 3, 4, 5, 6, 8, 10]}


def mutate(kind: str, value, rng: random.Random, avoid: list, text: str = ""):
    """A different value of the same kind, none of `avoid` (the answer's other values, or a value that keeps
    the sentence true): "from $100 to $100" changes nothing a reader could catch."""
    if kind in _POOL:
        options = [x for x in _POOL[kind] if float(x) != float(value)]
    elif kind == "duration":
        count, unit = value
        options = [(c, unit) for c in (count + 1, count * 2, max(1, count - 2), count + 5, 90, 45, 30) if c != count]
    elif kind == "date":
        y, m, d = value
        options = [(y, m, d + 1 if d < 28 else d - 1), (y, m % 12 + 1, d), (y - 1, m, d)]
    elif kind == "product":
        options = [o for o in SIBLINGS[value] if o not in text]  # "FlexPay 2.0 instead of FlexPay 2.0"
    else:
        raise ValueError(kind)
    return rng.choice([o for o in options if o not in avoid])


@dataclass(frozen=True)
class Case:
    """One answer to check."""

    fact: str
    lang: str
    split: str  # tune | heldout
    answer: str
    faithful: bool
    mutation: str | None  # the kind of slot changed, "negation", or None


def cases(seed: int = 7) -> list[Case]:
    """Every faithful answer (each template in every format) and one mutation per slot per faithful answer."""
    rng = random.Random(seed)
    out: list[Case] = []
    for split, table in (("tune", TUNE), ("tune", SEEN), ("seen", SEEN_2), ("heldout", HELDOUT)):
        for fact, by_lang in table.items():
            slots = SLOTS[fact]
            for lang, templates in by_lang.items():
                for t_i, template in enumerate(templates):
                    pair = template if isinstance(template, tuple) else None
                    text = pair[0] if pair else template
                    used = [s for s in slots if "{" + s + "}" in text]
                    for style in range(3):
                        values = {s: slots[s][1] for s in used}
                        marks = _marks(fact, lang, style)
                        strip = lang == "vi" and (style + t_i) % 3 == 2
                        faithful = _fill(text, values, slots, lang, style, marks, strip)
                        out.append(Case(fact, lang, split, faithful, True, None))
                        if pair:
                            out.append(Case(fact, lang, split, _fill(pair[1], values, slots, lang, style, marks, strip),
                                            False, "negation"))
                        for s in used:
                            kind = slots[s][0]
                            avoid = [x for k, x in values.items() if k != s] + ALSO_TRUE.get((fact, s), [])
                            changed = {**values, s: mutate(kind, values[s], rng, avoid, text)}
                            out.append(Case(fact, lang, split, _fill(text, changed, slots, lang, style, marks, strip),
                                            False, kind))
    return out


def _marks(fact: str, lang: str, style: int) -> tuple[str, str]:
    """Every cited span's mark, before the full stop, after it, or spaced: (before, after)."""
    n = 1 + len(SPANS[fact][lang][2])
    marks = "".join(f"[{i}]" for i in range(1, n + 1))
    return [(f" {marks}", ""), ("", f" {marks}"), (" " + " ".join(f"[{i}]" for i in range(1, n + 1)), "")][style % 3]


def _fill(text: str, values: dict, slots: dict, lang: str, style: int, marks: tuple[str, str], strip: bool) -> str:
    filled = {s: render(slots[s][0], v, lang, style) for s, v in values.items()}
    before, after = marks
    answer = text.format(c=before, **filled) + after
    answer = answer[0].upper() + answer[1:]
    return strip_marks(answer) if strip else answer
