"""The expanded Spanish and Vietnamese corpus: a second set of customer phrasings per intent, and bank passages.

Written for loopwright's sample (CC0-1.0) as a separate phrasebook from
`es.py` and `vi.py`: other verbs, registers (formal `usted`, chat shorthand,
`ạ`/`dạ` politeness, Vietnamese typed without its diacritics, which the noise
step adds on top) and situations, so the training job learns the intents
rather than one phrase list. The held-out question sets under `tests/data/`
were not read when writing them.
"""

SLOTS: dict[str, dict[str, list[str]]] = {
    "es": {
        "plastico": ["mi tarjeta", "la tarjeta de crédito", "la tarjeta del banco", "mi débito", "la tarjeta {last4}"],
        "tienda": ["Brightmart", "StreamBox", "Cedar Grocers", "un restaurante", "una gasolinera", "Amazon"],
        "cortesia": ["", " por favor", ", gracias", " cuanto antes", " lo antes posible"],
        "producto": ["Larkspur Saver", "Goal Saver", "el plan de ahorro", "la cuenta de ahorro"],
        "pais": ["Perú", "Argentina", "Venezuela", "El Salvador", "República Dominicana"],
        "momento": ["mañana", "este sábado", "el domingo", "el día festivo", "esta tarde"],
        "misdatos": ["mis datos", "mi información personal", "mis datos personales", "todo lo que tienen de mí",
                     "mi historial", "mis registros"],
    },
    "vi": {
        "the": ["thẻ", "thẻ tín dụng", "thẻ ngân hàng", "thẻ ATM", "thẻ số đuôi {last4}"],
        "noi": ["siêu thị", "Brightmart", "StreamBox", "quán cà phê", "trạm xăng", "trang mua sắm"],
        "lich": ["", " ạ", " giùm em", " nhé", " được không ạ"],
        "goi": ["Larkspur Saver", "Goal Saver", "sổ tiết kiệm", "tài khoản tiết kiệm online"],
        "nuoc": ["Việt Nam", "Huế", "Cần Thơ", "Nhật Bản", "Úc"],
        "luc": ["sáng mai", "thứ Bảy này", "Chủ nhật", "ngày lễ", "chiều nay"],
        "dl": ["dữ liệu của em", "thông tin cá nhân của em", "hồ sơ của em", "toàn bộ dữ liệu của em",
               "dữ liệu cá nhân của em", "thông tin của em"],
    },
}

TEMPLATES: dict[str, dict[str, list[str]]] = {
    "es": {
        "card_freeze": [
            "necesito bloquear {plastico} un rato{cortesia}", "¿me ayuda a suspender {plastico} temporalmente?",
            "dejé {plastico} en {tienda}, congélela{cortesia}", "bloqueo temporal de {plastico}",
            "quiero apagar {plastico} desde la app", "¿se puede poner en pausa {plastico} hasta que la encuentre?",
            "desactiva {plastico} por ahora{cortesia}", "creo que se me cayó {plastico}, congélala mientras busco",
        ],
        "card_unfreeze": [
            "ya apareció {plastico}, reactívela{cortesia}", "quiero volver a usar {plastico}",
            "levanta el bloqueo temporal de {plastico}{cortesia}", "¿cómo enciendo otra vez {plastico} en la app?",
            "{tienda} rechazó {plastico} porque sigue congelada, desbloquéala", "reactivar {plastico}",
            "quita la pausa de {plastico}{cortesia}",
        ],
        "card_lost": [
            "extravié {plastico}{cortesia}", "me quitaron {plastico} en {tienda}", "necesito reponer {plastico} perdida",
            "alguien se llevó mi bolso con {plastico}", "¿me envían un plástico nuevo? perdí el mío",
            "reporte de robo de {plastico}", "perdí {plastico} de viaje en {pais}",
        ],
        "dispute_initiation": [
            "hay un cobro de {amount} en {tienda} que no hice", "quiero reclamar un cargo duplicado de {tienda}",
            "{tienda} me cobró {amount} y nunca llegó el pedido", "abrir un reclamo por {txn}",
            "no autoricé el pago de {amount}", "¿cómo impugno un movimiento de {plastico}?",
            "me cobraron de más en {tienda}, quiero objetar el cargo",
        ],
        "chargeback_grace": [
            "{tienda} dice que me devolverá {amount}, ¿cuánto espera el banco antes del contracargo?",
            "¿qué es el periodo de gracia del contracargo?", "el comercio prometió reembolso, ¿sigue abierta mi disputa?",
            "¿cuántos días de gracia le dan al comercio para reembolsar?",
            "si {tienda} no me reembolsa en el plazo, ¿qué hace el banco?",
            "¿el banco espera al reembolso de {tienda} antes de cerrar el reclamo?",
        ],
        "flexpay": [
            "¿puedo pagar {amount} en cuotas con FlexPay?", "¿cuánto interés cobra FlexPay a {n} meses?",
            "quiero dividir la compra de {tienda} en pagos mensuales", "¿FlexPay tiene cargo por pago atrasado?",
            "¿cuántos planes FlexPay puedo tener a la vez?", "explíqueme cómo funciona FlexPay",
            "plan de pagos FlexPay para {amount}",
        ],
        "savings_rates": [
            "¿qué rendimiento da {producto}?", "¿cuánto paga de interés {producto} este mes?",
            "si ahorro {amount} en {producto}, ¿cuánto gano al año?", "comparar tasas de {producto} y Goal Saver",
            "¿subió la tasa de {producto}?", "tasa anual de {producto}",
        ],
        "wire_transfer": [
            "necesito enviar {amount} a {pais}", "¿cuánto cuesta una transferencia internacional a {pais}?",
            "¿a qué hora es el corte para giros el mismo día?", "mandar dinero a mi familia en {pais}",
            "¿cuánto tarda en llegar un giro a {pais}?", "comisión por transferencia bancaria nacional",
        ],
        "balance": [
            "¿cuánto dinero tengo disponible?", "saldo de mi cuenta{cortesia}", "consultar mi saldo actual",
            "¿por qué mi saldo disponible es menor que el saldo total?", "¿cuándo se libera la retención de {tienda}?",
            "dime el saldo de la cuenta corriente{cortesia}",
        ],
        "fees": [
            "¿por qué me cobraron una comisión este mes?", "¿cuánto cuesta el sobregiro?",
            "¿cobran por usar un cajero de otro banco?", "¿cómo evito la cuota de mantenimiento?",
            "comisión por compras en el extranjero", "me aparece un cargo de servicio que no entiendo",
        ],
        "account_opening": [
            "quiero abrir una cuenta nueva{cortesia}", "¿qué documentos piden para abrir una cuenta?",
            "¿puedo abrir una cuenta con pasaporte extranjero?", "abrir cuenta de ahorro en línea",
            "¿necesito ITIN para ser cliente?", "¿cuál es el depósito mínimo para abrir {producto}?",
        ],
        "branch_hours": [
            "¿a qué hora abre la sucursal {momento}?", "¿la oficina atiende {momento}?",
            "horario de atención de las sucursales", "¿hasta qué hora está abierto el banco {momento}?",
            "¿abren las sucursales el día de Acción de Gracias?",
        ],
        "human_agent": [
            "quiero hablar con un asesor{cortesia}", "páseme con una persona real", "necesito un agente humano",
            "comuníqueme con servicio al cliente{cortesia}", "prefiero hablar con alguien del banco",
            "¿me pueden llamar de atención al cliente?",
        ],
        "other": [
            "¿qué hora es en {pais}?", "cuéntame algo interesante", "¿eres una inteligencia artificial?",
            "recomiéndame una película", "¿cómo se prepara una paella?", "buenas noches", "¿quién ganó el partido?",
            "¿va a llover {momento}?",
        ],
        "privacy_request": [
            "¿qué guardan ustedes sobre mí?", "solicito acceso a {misdatos}{cortesia}", "envíeme una copia de {misdatos}",
            "quiero saber qué hacen con {misdatos}", "eliminen {misdatos} de sus sistemas{cortesia}",
            "pido la supresión de {misdatos}", "no quiero que conserven {misdatos}, bórrenlos",
            "quiero darme de baja y que borren {misdatos}", "¿me pueden enviar {misdatos} en un archivo?",
            "solicitud de derechos ARCO sobre {misdatos}", "quiero cancelar el uso de {misdatos}{cortesia}",
        ],
    },
    "vi": {
        "card_freeze": [
            "em muốn tạm khóa {the}{lich}", "khóa {the} tạm thời giúp em", "tạm dừng {the} một thời gian",
            "em để quên {the} ở {noi}, khóa lại{lich}", "làm sao tạm khóa {the} trên ứng dụng?",
            "chặn {the} tạm thời trong lúc em tìm", "tắt {the} tạm thời{lich}",
            "khóa tạm {the} vì em nghi bị lộ thông tin",
        ],
        "card_unfreeze": [
            "em tìm lại được {the} rồi, mở khóa{lich}", "kích hoạt lại {the}{lich}", "bật lại {the} giúp em",
            "gỡ khóa tạm thời cho {the}", "{noi} từ chối {the} vì đang bị khóa, mở lại{lich}",
            "làm sao bật lại {the} trên ứng dụng?", "em muốn dùng lại {the}",
        ],
        "card_lost": [
            "em đánh rơi {the} rồi", "{the} của em bị trộm ở {noi}", "báo mất {the} và làm lại thẻ mới",
            "em bị móc túi mất ví có {the}", "cấp lại {the} bị mất mất mấy ngày?", "em làm mất {the} khi đi {nuoc}",
            "thẻ bị cướp, em cần khóa hẳn và làm thẻ mới",
        ],
        "dispute_initiation": [
            "có khoản trừ {amount} ở {noi} mà em không mua", "em muốn tra soát giao dịch {txn}",
            "{noi} thu tiền em hai lần", "em không thực hiện giao dịch {amount} này", "làm sao để khiếu nại một khoản phí lạ?",
            "em đặt hàng ở {noi} mà không nhận được, muốn đòi lại tiền", "mở yêu cầu tra soát cho {the}",
        ],
        "chargeback_grace": [
            "{noi} hứa hoàn {amount}, ngân hàng đợi bao lâu mới bồi hoàn?", "thời gian ân hạn bồi hoàn là bao lâu?",
            "người bán nói sẽ trả lại tiền, yêu cầu tra soát của em còn hiệu lực không?",
            "nếu {noi} không hoàn tiền đúng hạn thì ngân hàng xử lý sao?",
            "ngân hàng chờ người bán hoàn tiền mấy ngày?", "chargeback grace period là gì ạ?",
        ],
        "flexpay": [
            "em muốn trả góp {amount} bằng FlexPay", "FlexPay {n} tháng lãi bao nhiêu?", "chia khoản mua ở {noi} thành nhiều kỳ",
            "trả chậm FlexPay có bị phạt không?", "được mở mấy gói FlexPay cùng lúc?", "giải thích FlexPay giúp em{lich}",
            "gói trả góp FlexPay cho {amount}",
        ],
        "savings_rates": [
            "{goi} lãi suất bao nhiêu một năm?", "gửi {amount} vào {goi} thì lời bao nhiêu?",
            "lãi suất {goi} tháng này có tăng không?", "so sánh lãi {goi} với Goal Saver",
            "APY của {goi} hiện tại là bao nhiêu?", "gửi tiết kiệm ở đâu lãi cao nhất?",
        ],
        "wire_transfer": [
            "em cần gửi {amount} về {nuoc}", "chuyển tiền ra nước ngoài mất phí bao nhiêu?",
            "mấy giờ là hạn chót chuyển tiền trong ngày?", "gửi tiền cho gia đình ở {nuoc} mất mấy ngày?",
            "phí chuyển khoản liên ngân hàng trong nước", "làm lệnh chuyển tiền quốc tế thế nào?",
        ],
        "balance": [
            "tài khoản em còn bao nhiêu tiền?", "xem số dư giúp em{lich}", "số dư hiện tại là bao nhiêu?",
            "vì sao số dư khả dụng ít hơn số dư thực?", "tiền tạm giữ ở {noi} bao giờ được trả lại?",
            "kiểm tra số dư tài khoản thanh toán{lich}",
        ],
        "fees": [
            "sao tháng này em bị trừ phí?", "phí thấu chi tính thế nào?", "rút tiền ATM ngân hàng khác mất phí không?",
            "làm sao để được miễn phí quản lý tài khoản?", "phí quẹt thẻ ở nước ngoài là bao nhiêu?",
            "có một khoản phí dịch vụ em không hiểu",
        ],
        "account_opening": [
            "em muốn mở tài khoản mới{lich}", "mở tài khoản cần những giấy tờ gì?", "người nước ngoài có mở tài khoản được không?",
            "mở {goi} trực tuyến thế nào?", "có cần ITIN để mở tài khoản không?", "mở tài khoản tối thiểu phải nộp bao nhiêu?",
        ],
        "branch_hours": [
            "chi nhánh {luc} mở cửa mấy giờ?", "{luc} ngân hàng có làm việc không?", "giờ giao dịch của phòng giao dịch",
            "ngân hàng đóng cửa lúc mấy giờ {luc}?", "ngày lễ Tạ ơn chi nhánh có mở cửa không ạ?",
        ],
        "human_agent": [
            "cho em gặp tư vấn viên{lich}", "em muốn nói chuyện với người thật", "nối máy cho em tới nhân viên",
            "gọi lại cho em qua tổng đài{lich}", "em cần nhân viên chăm sóc khách hàng hỗ trợ", "không muốn nói với máy nữa",
        ],
        "other": [
            "ở {nuoc} bây giờ là mấy giờ?", "kể cho em nghe một câu chuyện", "bạn có phải trí tuệ nhân tạo không?",
            "gợi ý một bộ phim hay", "cách nấu bún bò Huế", "chúc ngủ ngon", "{luc} trời có mưa không?",
            "hôm nay ăn gì ngon nhỉ?",
        ],
        "privacy_request": [
            "ngân hàng đang lưu {dl} những gì{lich}?", "cho em xin bản sao {dl}{lich}", "em muốn xem {dl}{lich}",
            "xoá {dl} khỏi hệ thống{lich}", "em yêu cầu xoá vĩnh viễn {dl}", "đừng lưu {dl} nữa, xoá đi{lich}",
            "gửi {dl} cho em qua email{lich}", "em muốn huỷ tài khoản và xoá {dl}", "ngân hàng dùng {dl} để làm gì{lich}?",
            "em muốn tải {dl} về máy{lich}", "yêu cầu truy cập {dl}",
        ],
    },
}

# One short passage per topic and language: continued-pretraining and embedding text, no figures
# (the corpus documents own the numbers, and a passage must not contradict them).
PASSAGES: dict[str, list[tuple[str, str]]] = {
    "es": [
        ("card-freeze", "Puede congelar su tarjeta desde la aplicación de Larkspur en cualquier momento. Mientras está "
                        "congelada no se aprueban compras nuevas, pero los pagos recurrentes ya autorizados pueden seguir."),
        ("card-lost", "Si pierde su tarjeta o se la roban, repórtela de inmediato. El banco la cancela, emite una tarjeta "
                      "de reemplazo con otro número y revisa con usted los cargos recientes."),
        ("disputes", "Para disputar un cargo, indique la transacción, el comercio y el motivo. El banco puede abonar un "
                     "crédito provisional mientras investiga y le avisa por escrito del resultado."),
        ("chargeback-grace", "Cuando un comercio promete un reembolso, el banco espera un periodo de gracia antes de "
                             "iniciar el contracargo. Si el reembolso no llega, la disputa continúa sin que tenga que empezar de nuevo."),
        ("flexpay", "FlexPay divide una compra elegible en pagos mensuales iguales. Antes de aceptar el plan verá el "
                    "número de cuotas, el costo total y la fecha de cada pago."),
        ("savings", "Las cuentas de ahorro de Larkspur pagan intereses que se calculan a diario y se abonan cada mes. "
                    "La tasa vigente aparece en la aplicación y en la tabla de tasas publicada."),
        ("wires", "Las transferencias internacionales se envían en días hábiles. Necesitará el nombre del beneficiario, "
                  "su número de cuenta y el código del banco que recibe el dinero."),
        ("balances", "El saldo disponible descuenta las retenciones pendientes, como la de un hotel o una gasolinera. "
                     "Cuando el comercio confirma el importe final, la retención se libera."),
        ("fees", "Algunas comisiones se pueden evitar: mantener un saldo mínimo o recibir un depósito directo elimina la "
                 "cuota mensual de mantenimiento de la cuenta corriente."),
        ("account-opening", "Para abrir una cuenta necesita una identificación oficial con foto y un comprobante de "
                            "domicilio. Puede hacerlo en línea o en cualquier sucursal."),
        ("branch-hours", "Las sucursales atienden de lunes a sábado y cierran los días festivos federales. El horario de "
                         "cada oficina aparece en el localizador de sucursales."),
        ("contact", "Si prefiere hablar con una persona, el asistente puede transferirle a un asesor del centro de "
                    "atención, que verá el resumen de su conversación."),
    ],
    "vi": [
        ("card-freeze", "Quý khách có thể tạm khóa thẻ ngay trên ứng dụng Larkspur. Khi thẻ bị khóa, giao dịch mới sẽ bị "
                        "từ chối, nhưng các khoản thanh toán định kỳ đã đăng ký vẫn có thể được trừ."),
        ("card-lost", "Nếu thẻ bị mất hoặc bị đánh cắp, hãy báo ngay cho ngân hàng. Thẻ cũ sẽ bị hủy và ngân hàng phát "
                      "hành thẻ thay thế với số thẻ mới."),
        ("disputes", "Để tra soát một giao dịch, quý khách cho biết giao dịch, người bán và lý do. Ngân hàng có thể ghi "
                     "có tạm thời trong thời gian điều tra và thông báo kết quả bằng văn bản."),
        ("chargeback-grace", "Khi người bán hứa hoàn tiền, ngân hàng chờ một khoảng thời gian ân hạn trước khi bồi hoàn. "
                             "Nếu tiền không được hoàn, yêu cầu tra soát vẫn tiếp tục mà quý khách không phải làm lại."),
        ("flexpay", "FlexPay chia một khoản mua đủ điều kiện thành các kỳ thanh toán hằng tháng bằng nhau. Trước khi đồng "
                    "ý, quý khách thấy số kỳ, tổng chi phí và ngày đến hạn của từng kỳ."),
        ("savings", "Tài khoản tiết kiệm Larkspur tính lãi hằng ngày và trả lãi hằng tháng. Lãi suất hiện hành được hiển "
                    "thị trên ứng dụng và trong bảng lãi suất công bố."),
        ("wires", "Chuyển tiền quốc tế được xử lý vào ngày làm việc. Quý khách cần tên người nhận, số tài khoản và mã "
                  "ngân hàng nhận tiền."),
        ("balances", "Số dư khả dụng đã trừ các khoản tạm giữ, chẳng hạn tiền cọc khách sạn hoặc trạm xăng. Khi người bán "
                     "xác nhận số tiền cuối cùng, khoản tạm giữ được giải phóng."),
        ("fees", "Một số loại phí có thể tránh được: duy trì số dư tối thiểu hoặc nhận lương qua tài khoản sẽ được miễn "
                 "phí duy trì tài khoản thanh toán hằng tháng."),
        ("account-opening", "Để mở tài khoản, quý khách cần giấy tờ tùy thân có ảnh và giấy tờ chứng minh địa chỉ. Có thể "
                            "mở trực tuyến hoặc tại bất kỳ chi nhánh nào."),
        ("branch-hours", "Các chi nhánh làm việc từ thứ Hai đến thứ Bảy và nghỉ vào các ngày lễ liên bang. Giờ mở cửa của "
                         "từng chi nhánh có trong công cụ tìm chi nhánh."),
        ("contact", "Nếu muốn nói chuyện với người thật, trợ lý có thể chuyển quý khách tới tư vấn viên, người sẽ xem "
                    "tóm tắt cuộc trò chuyện."),
    ],
}
