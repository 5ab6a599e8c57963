"""Spanish and Vietnamese versions of the most asked-about retail documents.

Amounts and rates keep the English formatting ($5,000, 9.9%) so one fact
string can be checked against every language version.
"""

from datetime import date

from loopwright.samples.bank.documents.model import Doc

POLICY = "Larkspur Product Policy Office"
DEPOSITS = "Larkspur Deposit Products"
CARDS = "Larkspur Card Services"
CARE = "Larkspur Customer Care"
PAYMENTS = "Larkspur Payments Operations"


def spanish() -> list[Doc]:
    """Documents in Spanish (ids end in -es)."""
    return [
        Doc(
            id="flexpay-2-0-es",
            title="Planes a plazos FlexPay 2.0",
            language="es",
            effective_date=date(2026, 9, 1),
            certified=False,
            source=POLICY,
            body="""
FlexPay 2.0 divide una compra con tarjeta en cuotas mensuales iguales.

## Compras elegibles

Compras con tarjeta de $100 a $5,000.

## Plazos y APR

| Cuotas | APR |
|---|---|
| 3 meses | 0% APR |
| 6 meses | 0% APR |
| 12 meses | 9.9% APR |
| 24 meses | 9.9% APR |

## Cargos y límites

- Sin cargo de apertura.
- Cargo por pago atrasado de $15.
- Como máximo 4 planes activos a la vez.
""",
        ),
        Doc(
            id="card-freeze-es",
            title="Congelar y descongelar su tarjeta",
            language="es",
            effective_date=date(2026, 7, 15),
            source=CARDS,
            body="""
El congelamiento es instantáneo, desde la app o con el asistente.

- Bloquea las compras nuevas.
- No bloquea los pagos recurrentes ya autorizados, como una suscripción.
- Solo el titular de la tarjeta puede congelar o descongelar su propia
  tarjeta.

| Acción | Dónde | Efecto |
|---|---|---|
| Congelar | app o asistente | instantáneo |
| Descongelar | app o asistente | instantáneo |
""",
        ),
        Doc(
            id="disputes-es",
            title="Disputar un cargo con tarjeta",
            language="es",
            effective_date=date(2026, 7, 1),
            source=CARDS,
            body="""
## Plazos y requisitos

- Presente la disputa dentro de los 60 días siguientes a la fecha del estado
  de cuenta.
- Se necesita el identificador de la transacción.
- Solo puede haber una disputa abierta por transacción.

## Crédito provisional

Para disputas de más de $25, damos crédito provisional en un plazo de
10 días hábiles.
""",
        ),
        Doc(
            id="chargeback-grace-es",
            title="Periodo de gracia de contracargo",
            language="es",
            effective_date=date(2026, 7, 1),
            source=CARDS,
            body="""
El periodo de gracia de contracargo ("chargeback grace") son los
5 días naturales posteriores a que un comercio promete un reembolso. Durante ese
tiempo mantenemos la disputa abierta; si el reembolso no llega, presentamos el
contracargo. No amplía el plazo de 60 días para disputar.
""",
        ),
        Doc(
            id="savings-rates-2026-10-es",
            title="Tasas de ahorro vigentes desde el 2026-10-01",
            language="es",
            effective_date=date(2026, 10, 1),
            source=DEPOSITS,
            body="""
| Cuenta | Saldo | APY |
|---|---|---|
| Larkspur Saver | todos los saldos | 3.80% APY |
| Goal Saver | hasta $10,000 | 4.10% APY |
| Goal Saver | la parte superior a $10,000 | 1.00% APY |

Las tasas son variables. No hay cargo mensual.
""",
        ),
        Doc(
            id="branch-hours-es",
            title="Horario de sucursales",
            language="es",
            effective_date=date(2026, 8, 1),
            source=CARE,
            body="""
| Día | Horario |
|---|---|
| Lunes a viernes | 9 am a 5 pm |
| Sábado | 9 am a 1 pm |
| Domingo | cerrado |

Las sucursales cierran los domingos y los días festivos federales.
""",
        ),
    ]


def vietnamese() -> list[Doc]:
    """Documents in Vietnamese (ids end in -vi)."""
    return [
        Doc(
            id="flexpay-2-0-vi",
            title="Gói trả góp FlexPay 2.0",
            language="vi",
            effective_date=date(2026, 9, 1),
            certified=False,
            source=POLICY,
            body="""
FlexPay 2.0 chia một giao dịch thẻ thành các kỳ trả góp hằng tháng bằng nhau.

## Giao dịch đủ điều kiện

Giao dịch thẻ từ $100 đến $5,000.

## Kỳ hạn và APR

| Số kỳ | APR |
|---|---|
| 3 tháng | 0% APR |
| 6 tháng | 0% APR |
| 12 tháng | 9.9% APR |
| 24 tháng | 9.9% APR |

## Phí và giới hạn

- Không có phí thiết lập.
- Phí trả chậm $15.
- Tối đa 4 gói đang hoạt động cùng lúc.
""",
        ),
        Doc(
            id="card-freeze-vi",
            title="Khóa và mở khóa thẻ",
            language="vi",
            effective_date=date(2026, 7, 15),
            source=CARDS,
            body="""
Khóa thẻ có hiệu lực ngay lập tức, qua ứng dụng hoặc trợ lý ảo.

- Chặn các giao dịch mua mới.
- Không chặn các khoản thanh toán định kỳ đã được cho phép.
- Chỉ chủ thẻ mới có thể khóa hoặc mở khóa thẻ của chính mình.
""",
        ),
        Doc(
            id="disputes-vi",
            title="Khiếu nại giao dịch thẻ",
            language="vi",
            effective_date=date(2026, 7, 1),
            source=CARDS,
            body="""
- Khiếu nại trong vòng 60 ngày kể từ ngày sao kê.
- Cần có mã giao dịch.
- Mỗi giao dịch chỉ có một khiếu nại đang mở.
- Với khiếu nại trên $25, tín dụng tạm thời được ghi có trong vòng
  10 ngày làm việc.
""",
        ),
        Doc(
            id="chargeback-grace-vi",
            title="Thời gian ân hạn bồi hoàn",
            language="vi",
            effective_date=date(2026, 7, 1),
            source=CARDS,
            body="""
"Chargeback grace" là 5 ngày theo lịch sau khi người bán hứa hoàn tiền. Trong
thời gian này khiếu nại vẫn được giữ mở; nếu tiền chưa được hoàn, ngân hàng
sẽ nộp yêu cầu bồi hoàn (chargeback).
""",
        ),
        Doc(
            id="savings-rates-2026-10-vi",
            title="Lãi suất tiết kiệm từ 2026-10-01",
            language="vi",
            effective_date=date(2026, 10, 1),
            source=DEPOSITS,
            body="""
| Tài khoản | Số dư | APY |
|---|---|---|
| Larkspur Saver | mọi số dư | 3.80% APY |
| Goal Saver | đến $10,000 | 4.10% APY |
| Goal Saver | phần trên $10,000 | 1.00% APY |

Lãi suất có thể thay đổi. Không có phí hằng tháng.
""",
        ),
        Doc(
            id="wire-transfers-vi",
            title="Chuyển khoản điện tử (wire)",
            language="vi",
            effective_date=date(2026, 7, 20),
            source=PAYMENTS,
            body="""
## Giờ chốt và thời gian chuyển

Lệnh chuyển gửi trước 5 giờ chiều giờ miền Đông (5 pm Eastern) trong ngày làm
việc sẽ được chuyển trong ngày. Lệnh gửi sau 5 giờ chiều giờ miền Đông, hoặc vào
cuối tuần hay ngày lễ của Cục Dự trữ Liên bang, sẽ được chuyển vào ngày làm việc
tiếp theo. Chuyển khoản quốc tế thường đến nơi trong 1 đến 3 ngày làm việc.

## Phí

| Loại | Phí |
|---|---|
| Trong nước, gửi đi | $25 |
| Quốc tế, gửi đi | $45 |
| Trong nước, nhận về | $0 |
| Quốc tế, nhận về | $15 |

## Hạn mức

Chuyển khoản trực tuyến có hạn mức $25,000 mỗi ngày. Khoản lớn hơn có thể gửi
tại chi nhánh.
""",
        ),
    ]


def documents() -> list[Doc]:
    """All translated documents."""
    return spanish() + vietnamese()
