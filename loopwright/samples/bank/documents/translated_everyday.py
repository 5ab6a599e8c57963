"""Spanish and Vietnamese versions of the everyday-banking documents: fees, checking, savings, cards, wires,
account opening and contact.

Before these, a Spanish question about a wire fee or a checking account had only English evidence, which the
English embedder and a Spanish query do not meet: "¿Cuánto cuesta una transferencia internacional?" retrieved
card-freeze spans. Written from the English documents by the team, as a bank's translation desk would; amounts
and rates keep the English formatting ($25, 3.80% APY) so one fact string checks every language version.
"""

from datetime import date

from loopwright.samples.bank.documents.model import Doc
from loopwright.samples.bank.documents.translated import CARDS, CARE, DEPOSITS, PAYMENTS, POLICY


def spanish() -> list[Doc]:
    """Everyday-banking documents in Spanish (ids end in -es)."""
    return [
        Doc(
            id="wire-transfers-es",
            title="Transferencias bancarias",
            language="es",
            effective_date=date(2026, 7, 20),
            source=PAYMENTS,
            body="""
## Horario límite y plazos

Las transferencias enviadas antes de las 5 pm hora del Este en un día hábil
salen el mismo día. Las enviadas después de las 5 pm hora del Este, o en fin
de semana o feriado de la Reserva Federal, salen el siguiente día hábil. Las
transferencias internacionales suelen llegar en 1 a 3 días hábiles.

## Comisiones

| Transferencia | Comisión |
|---|---|
| Nacional, enviada | $25 |
| Internacional, enviada | $45 |
| Nacional, recibida | $0 |
| Internacional, recibida | $15 |

## Límites

Las transferencias en línea tienen un límite de $25,000 por día. Las de mayor
monto se pueden enviar desde una sucursal.
""",
        ),
        Doc(
            id="fee-schedule-es",
            title="Tabla de comisiones para clientes",
            language="es",
            effective_date=date(2026, 7, 1),
            source=POLICY,
            body="""
Esta tabla enumera todas las comisiones de las cuentas de depósito y tarjetas
de débito de Larkspur para clientes particulares.

| Servicio | Comisión |
|---|---|
| Mantenimiento mensual de Everyday Checking | $5 (se puede eximir) |
| Sobregiro | $29, como máximo 2 por día |
| Transferencia de ahorros para cubrir un sobregiro | $0 |
| Cajero automático fuera de la red | $2.50 |
| Transacción en el extranjero | 3% del monto |
| Orden de no pago de un cheque | $30 |
| Transferencia nacional enviada | $25 |
| Transferencia internacional enviada | $45 |
| Transferencia nacional recibida | $0 |
| Transferencia internacional recibida | $15 |
| Estado de cuenta en papel | $2 por mes |
| Cheque de caja | $10 |
| Reposición urgente de tarjeta | $25 |

## Exenciones

- La comisión mensual de mantenimiento de $5 se exime con un saldo diario
  mínimo de $500 o con $250 en depósitos directos al mes.
- No se cobra comisión por sobregiro cuando la cuenta queda en descubierto por
  $50 o menos.
""",
        ),
        Doc(
            id="everyday-checking-es",
            title="Cuenta corriente Everyday Checking",
            language="es",
            effective_date=date(2026, 7, 1),
            source=DEPOSITS,
            body="""
Everyday Checking es la cuenta corriente estándar de Larkspur.

## Comisión mensual de mantenimiento

La comisión mensual de mantenimiento es de $5. No se cobra en un mes en que se
cumpla una de estas condiciones:

- un saldo diario mínimo de $500;
- al menos $250 en depósitos directos;
- el titular principal tiene menos de 25 años.

## Características

- Una tarjeta de débito Larkspur que se congela al instante desde la app.
- Depósito directo hasta 2 días antes.
- Transferencias gratuitas con Larkspur Send.
- Depósito mínimo de apertura: $25.
""",
        ),
        Doc(
            id="larkspur-saver-es",
            title="Cuenta de ahorros Larkspur Saver",
            language="es",
            effective_date=date(2026, 10, 1),
            source=DEPOSITS,
            body="""
Larkspur Saver es nuestra cuenta de ahorros para el día a día.

## En resumen

- Tasa: 3.80% APY sobre todos los saldos (vea la tabla de tasas de ahorro).
- Depósito de apertura: $0.
- Comisión mensual: ninguna.
- Las transferencias desde y hacia Everyday Checking son instantáneas.

## Para quién es

Larkspur Saver conviene para el dinero que pueda necesitar con poco aviso.
Para una meta de ahorro de menos de $10,000, Goal Saver paga una tasa mayor.
""",
        ),
        Doc(
            id="goal-saver-es",
            title="Cuenta de ahorros Goal Saver",
            language="es",
            effective_date=date(2026, 10, 1),
            source=DEPOSITS,
            body="""
Goal Saver premia el ahorro hacia una meta.

## Tasas

| Saldo | APY |
|---|---|
| hasta $10,000 | 4.10% APY |
| más de $10,000 | 1.00% APY |

## Reglas

- Hasta 6 retiros por mes; un séptimo retiro pasa la cuenta a las condiciones
  de Larkspur Saver durante ese mes.
- Puede ponerle nombre a una meta y una fecha objetivo en la app.
- Depósito de apertura: $0. Comisión mensual: ninguna.
""",
        ),
        Doc(
            id="lost-stolen-cards-es",
            title="Tarjetas perdidas o robadas",
            language="es",
            effective_date=date(2026, 7, 15),
            source=CARDS,
            body="""
Si pierde su tarjeta o se la roban, repórtelo de inmediato. El asistente
congela la tarjeta al instante y un agente pide una de reposición.

## Reposición

| Envío | Plazo | Comisión |
|---|---|---|
| Estándar | 5 a 7 días hábiles | $0 |
| Urgente | 2 días hábiles | $25 |

## Su responsabilidad

La promesa de responsabilidad cero de Larkspur cubre las compras no
autorizadas que se reporten a tiempo. Usted no responde por compras que no
hizo.

## ¿La encontró?

Si encuentra la tarjeta antes de reportarla como perdida, descongélela en la
app. Una vez reportada como perdida, queda bloqueada para siempre.
""",
        ),
        Doc(
            id="debit-card-limits-es",
            title="Límites de la tarjeta de débito",
            language="es",
            effective_date=date(2026, 7, 15),
            source=CARDS,
            body="""
| Límite | Monto por día |
|---|---|
| Retiros en cajero automático | $500 |
| Compras | $3,000 |
| Larkspur Send | $2,500 |

Los límites se reinician a la medianoche, hora del Este. Puede pedir un
aumento temporal en una sucursal o por teléfono; dura 24 horas.
""",
        ),
        Doc(
            id="account-opening-es",
            title="Cómo abrir una cuenta",
            language="es",
            effective_date=date(2026, 7, 10),
            source=CARE,
            body="""
Puede abrir Everyday Checking, Larkspur Saver o Goal Saver en línea en unos
10 minutos, o en cualquier sucursal.

## Qué necesita

- Tener 18 años o más.
- Un número de Seguro Social o un ITIN.
- Una identificación oficial con foto, como la licencia de conducir o el
  pasaporte.
- Una dirección residencial en Estados Unidos.

## Depósitos de apertura

| Cuenta | Depósito mínimo de apertura |
|---|---|
| Everyday Checking | $25 |
| Larkspur Saver | $0 |
| Goal Saver | $0 |
""",
        ),
        Doc(
            id="contact-us-es",
            title="Cómo comunicarse con Larkspur",
            language="es",
            effective_date=date(2026, 7, 6),
            source=CARE,
            body="""
## Hablar con una persona

Pida al asistente un agente humano en cualquier momento y le pasará la
conversación, con sus notas, para que no tenga que repetir nada.

| Canal | Horario |
|---|---|
| Teléfono, 1-800-555-0142 | 24/7 |
| Línea de fraude, 1-800-555-0199 | 24/7 |
| Mensaje seguro en la app | respuesta en 1 día hábil |
| Sucursales | vea el horario de sucursales |
""",
        ),
    ]


def vietnamese() -> list[Doc]:
    """Everyday-banking documents in Vietnamese (ids end in -vi)."""
    return [
        Doc(
            id="fee-schedule-vi",
            title="Biểu phí dành cho khách hàng cá nhân",
            language="vi",
            effective_date=date(2026, 7, 1),
            source=POLICY,
            body="""
Biểu này liệt kê mọi khoản phí của tài khoản tiền gửi và thẻ ghi nợ Larkspur
dành cho khách hàng cá nhân.

| Dịch vụ | Phí |
|---|---|
| Phí duy trì hằng tháng của Everyday Checking | $5 (có thể được miễn) |
| Thấu chi | $29, tối đa 2 lần mỗi ngày |
| Chuyển tiền từ tài khoản tiết kiệm để bù thấu chi | $0 |
| ATM ngoài hệ thống | $2.50 |
| Giao dịch ở nước ngoài | 3% số tiền |
| Lệnh ngừng thanh toán séc | $30 |
| Chuyển khoản trong nước, gửi đi | $25 |
| Chuyển khoản quốc tế, gửi đi | $45 |
| Chuyển khoản trong nước, nhận về | $0 |
| Chuyển khoản quốc tế, nhận về | $15 |
| Sao kê giấy | $2 mỗi tháng |
| Séc thủ quỹ | $10 |
| Thay thẻ cấp tốc | $25 |

## Miễn phí

- Phí duy trì hằng tháng $5 được miễn khi số dư tối thiểu hằng ngày là $500
  hoặc có $250 tiền lương chuyển thẳng vào tài khoản mỗi tháng.
- Không thu phí thấu chi khi tài khoản bị âm từ $50 trở xuống.
""",
        ),
        Doc(
            id="everyday-checking-vi",
            title="Tài khoản thanh toán Everyday Checking",
            language="vi",
            effective_date=date(2026, 7, 1),
            source=DEPOSITS,
            body="""
Everyday Checking là tài khoản thanh toán tiêu chuẩn của Larkspur.

## Phí duy trì hằng tháng

Phí duy trì hằng tháng là $5. Phí được miễn trong bất kỳ tháng nào đáp ứng
một trong các điều kiện sau:

- số dư tối thiểu hằng ngày $500;
- ít nhất $250 tiền lương chuyển thẳng vào tài khoản;
- chủ tài khoản chính dưới 25 tuổi.

## Tính năng

- Thẻ ghi nợ Larkspur, khóa tức thì trong ứng dụng.
- Nhận tiền chuyển thẳng sớm tới 2 ngày.
- Chuyển tiền miễn phí bằng Larkspur Send.
- Số tiền mở tài khoản tối thiểu: $25.
""",
        ),
        Doc(
            id="larkspur-saver-vi",
            title="Tài khoản tiết kiệm Larkspur Saver",
            language="vi",
            effective_date=date(2026, 10, 1),
            source=DEPOSITS,
            body="""
Larkspur Saver là tài khoản tiết kiệm dùng hằng ngày của chúng tôi.

## Tóm tắt

- Lãi suất: 3.80% APY cho mọi mức số dư (xem bảng lãi suất tiết kiệm).
- Số tiền mở tài khoản: $0.
- Phí hằng tháng: không có.
- Chuyển tiền qua lại với Everyday Checking diễn ra tức thì.

## Phù hợp với ai

Larkspur Saver phù hợp với khoản tiền bạn có thể cần gấp. Với mục tiêu tiết
kiệm dưới $10,000, Goal Saver trả lãi suất cao hơn.
""",
        ),
        Doc(
            id="goal-saver-vi",
            title="Tài khoản tiết kiệm Goal Saver",
            language="vi",
            effective_date=date(2026, 10, 1),
            source=DEPOSITS,
            body="""
Goal Saver thưởng cho việc tiết kiệm theo mục tiêu.

## Lãi suất

| Số dư | APY |
|---|---|
| tới $10,000 | 4.10% APY |
| trên $10,000 | 1.00% APY |

## Quy định

- Tối đa 6 lần rút tiền mỗi tháng; lần rút thứ bảy khiến tài khoản áp dụng
  điều kiện của Larkspur Saver trong tháng đó.
- Bạn có thể đặt tên mục tiêu và ngày hoàn thành trong ứng dụng.
- Số tiền mở tài khoản: $0. Phí hằng tháng: không có.
""",
        ),
        Doc(
            id="lost-stolen-cards-vi",
            title="Thẻ bị mất hoặc bị đánh cắp",
            language="vi",
            effective_date=date(2026, 7, 15),
            source=CARDS,
            body="""
Nếu thẻ của bạn bị mất hoặc bị đánh cắp, hãy báo ngay. Trợ lý ảo khóa thẻ
ngay lập tức và nhân viên sẽ đặt thẻ thay thế.

## Thay thẻ

| Hình thức gửi | Thời gian | Phí |
|---|---|---|
| Thường | 5 đến 7 ngày làm việc | $0 |
| Cấp tốc | 2 ngày làm việc | $25 |

## Trách nhiệm của bạn

Cam kết không chịu trách nhiệm của Larkspur bao gồm các giao
dịch không được phép nếu được báo kịp thời. Bạn không phải chịu trách nhiệm
cho những giao dịch bạn không thực hiện.

## Tìm lại được thẻ?

Nếu bạn tìm thấy thẻ trước khi báo mất, hãy mở khóa thẻ trong ứng dụng. Khi
thẻ đã được báo mất, thẻ sẽ bị chặn vĩnh viễn.
""",
        ),
        Doc(
            id="debit-card-limits-vi",
            title="Hạn mức thẻ ghi nợ",
            language="vi",
            effective_date=date(2026, 7, 15),
            source=CARDS,
            body="""
| Hạn mức | Số tiền mỗi ngày |
|---|---|
| Rút tiền tại ATM | $500 |
| Mua hàng | $3,000 |
| Larkspur Send | $2,500 |

Hạn mức được đặt lại lúc nửa đêm theo giờ miền Đông. Bạn có thể yêu cầu tăng
hạn mức tạm thời tại chi nhánh hoặc qua điện thoại; mức tăng có hiệu lực 24
giờ.
""",
        ),
        Doc(
            id="account-opening-vi",
            title="Mở tài khoản",
            language="vi",
            effective_date=date(2026, 7, 10),
            source=CARE,
            body="""
Bạn có thể mở Everyday Checking, Larkspur Saver hoặc Goal Saver trực tuyến
trong khoảng 10 phút, hoặc tại bất kỳ chi nhánh nào.

## Bạn cần có

- Từ 18 tuổi trở lên.
- Số An sinh Xã hội hoặc số ITIN.
- Giấy tờ tùy thân có ảnh do cơ quan nhà nước cấp, như bằng lái xe hoặc hộ
  chiếu.
- Địa chỉ cư trú tại Hoa Kỳ.

## Số tiền mở tài khoản

| Tài khoản | Số tiền mở tài khoản tối thiểu |
|---|---|
| Everyday Checking | $25 |
| Larkspur Saver | $0 |
| Goal Saver | $0 |
""",
        ),
        Doc(
            id="branch-hours-vi",
            title="Giờ mở cửa chi nhánh",
            language="vi",
            effective_date=date(2026, 8, 1),
            source=CARE,
            body="""
| Ngày | Quầy giao dịch | Làn giao dịch trên xe |
|---|---|---|
| Thứ Hai đến thứ Sáu | 9 giờ sáng đến 5 giờ chiều | 8 giờ sáng đến 6 giờ chiều |
| Thứ Bảy | 9 giờ sáng đến 1 giờ chiều | 9 giờ sáng đến 1 giờ chiều |
| Chủ Nhật | đóng cửa | đóng cửa |

Chi nhánh đóng cửa vào Chủ Nhật và các ngày lễ liên bang. Giờ mở cửa theo giờ
địa phương. Trợ lý ảo, ứng dụng và tổng đài điện thoại hoạt động 24/7.
""",
        ),
        Doc(
            id="contact-us-vi",
            title="Liên hệ Larkspur",
            language="vi",
            effective_date=date(2026, 7, 6),
            source=CARE,
            body="""
## Nói chuyện với nhân viên

Bạn có thể yêu cầu trợ lý ảo chuyển sang nhân viên bất cứ lúc nào; trợ lý sẽ
chuyển cuộc trò chuyện kèm ghi chú để bạn không phải nhắc lại.

| Kênh | Giờ phục vụ |
|---|---|
| Điện thoại, 1-800-555-0142 | 24/7 |
| Đường dây báo gian lận, 1-800-555-0199 | 24/7 |
| Tin nhắn bảo mật trong ứng dụng | trả lời trong 1 ngày làm việc |
| Chi nhánh | xem giờ mở cửa chi nhánh |
""",
        ),
    ]


def documents() -> list[Doc]:
    """All translated everyday-banking documents."""
    return spanish() + vietnamese()
