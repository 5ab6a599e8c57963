"""A third Spanish and Vietnamese phrasebook: each intent as the situations customers are in, said many ways.

Written by hand for loopwright's sample (CC0-1.0), apart from `es.py`, `vi.py`
and `multilingual.py`: each core names a situation (a card left in a taxi, a
double charge, a refund promised, a transfer home) in the words a customer
would type, with other verbs and nouns than those phrasebooks use (Vietnamese:
`đóng băng`, `vô hiệu hóa`, `giật túi`, `tất toán`; Spanish: `inhabilitar`,
`me clonaron`, `me asaltaron`, `diferir`). Each drawn text is an opener, a core
and a closer, so the same situation arrives with and without greetings and
politeness particles; the noise step then drops accents and adds typos on some.
The held-out sets (`samples/bank/heldout/`, `tests/data/`) were not read when
writing them.
"""

SLOTS: dict[str, dict[str, list[str]]] = {
    "es": {
        "tarjeta": ["mi tarjeta", "la tarjeta", "mi tarjeta de débito", "mi tarjeta de crédito", "la tarjeta que termina en {last4}",
                    "mi plástico", "la tarjeta Larkspur"],
        "lugar": ["un taxi", "el supermercado", "Brightmart", "la oficina", "un bar", "el aeropuerto", "casa de mi suegra"],
        "comercio": ["Brightmart", "StreamBox", "Skyline Air", "Cedar Grocers", "una tienda en línea", "el hotel", "el taller"],
        "pais": ["México", "Colombia", "Guatemala", "Honduras", "España", "Ecuador"],
        "ahorro": ["Larkspur Saver", "Goal Saver", "mi cuenta de ahorros", "la cuenta de ahorro"],
        "cuenta": ["mi cuenta", "la cuenta corriente", "mi cuenta de cheques", "la cuenta de ahorros"],
        "dia": ["el sábado", "el domingo", "mañana", "hoy", "el lunes festivo", "en Navidad", "el 4 de julio"],
        "datos": ["mis datos", "mi información", "mis datos personales", "la información que tienen de mí"],
    },
    "vi": {
        "toi": ["tôi", "em", "mình"],
        "the": ["thẻ", "thẻ của {toi}", "thẻ ghi nợ", "thẻ tín dụng", "thẻ đuôi {last4}", "cái thẻ", "thẻ Larkspur"],
        "noi": ["taxi", "siêu thị", "Brightmart", "quán ăn", "văn phòng", "sân bay", "nhà bạn"],
        "ban": ["Brightmart", "StreamBox", "Skyline Air", "Cedar Grocers", "trang bán hàng online", "khách sạn", "tiệm sửa xe"],
        "nuoc": ["Việt Nam", "Hàn Quốc", "Đài Loan", "Úc", "Pháp", "Sài Gòn"],
        "goi": ["Larkspur Saver", "Goal Saver", "tài khoản tiết kiệm", "sổ tiết kiệm"],
        "tk": ["tài khoản", "tài khoản thanh toán", "tài khoản tiết kiệm", "tài khoản của {toi}"],
        "luc": ["thứ Bảy", "Chủ nhật", "ngày mai", "hôm nay", "ngày lễ", "dịp Giáng sinh", "ngày Quốc khánh Mỹ"],
        "dl": ["dữ liệu", "thông tin cá nhân", "dữ liệu cá nhân", "hồ sơ", "thông tin"],
    },
}

OPENERS: dict[str, list[str]] = {
    "es": ["", "", "", "hola, ", "buenas, ", "buenos días, ", "disculpe, ", "oiga, ", "una consulta: ", "necesito ayuda, ",
           "por favor, ", "hola buenas tardes, "],
    "vi": ["", "", "", "chào ngân hàng, ", "xin chào, ", "cho {toi} hỏi ", "dạ cho {toi} hỏi ", "alo, ", "anh chị ơi, ",
           "ngân hàng ơi, ", "làm ơn ", "{toi} cần hỏi: "],
}

CLOSERS: dict[str, list[str]] = {
    "es": ["", "", "", " por favor", ", gracias", " porfa", " lo antes posible", " ya", "?", ", es urgente"],
    "vi": ["", "", "", " ạ", " với ạ", " nhé", " được không", " vậy", " ạ, cảm ơn", " gấp", "?"],
}

CORES: dict[str, dict[str, list[str]]] = {
    "es": {
        "card_freeze": [
            "quiero bloquear temporalmente {tarjeta}", "pon en pausa {tarjeta} unos días", "no sé dónde dejé {tarjeta}, bloquéala mientras la busco",
            "inhabilita {tarjeta} de momento", "¿cómo congelo {tarjeta} en la app?", "quiero que nadie pueda usar {tarjeta} por ahora",
            "suspender {tarjeta} temporalmente", "creo que olvidé {tarjeta} en {lugar}, congélala", "desactivar {tarjeta} un rato",
            "¿si congelo {tarjeta} siguen pasando los pagos automáticos?", "mi hijo se llevó {tarjeta}, bloquéala temporalmente",
            "bloqueo temporal, no es robo, solo no la encuentro", "¿dónde está la opción para pausar {tarjeta}?",
            "congelar {tarjeta} hasta nuevo aviso",
        ],
        "card_unfreeze": [
            "ya encontré {tarjeta}, desbloquéala", "quiero reactivar {tarjeta}", "quita el bloqueo temporal de {tarjeta}",
            "descongela {tarjeta}", "¿cómo vuelvo a activar {tarjeta} después de pausarla?", "{tarjeta} sigue bloqueada y necesito pagar",
            "habilita otra vez {tarjeta}", "bloqueé {tarjeta} por error, ábrela de nuevo", "la tarjeta apareció en {lugar}, actívala",
            "quiero usar {tarjeta} otra vez", "me rechazaron en {comercio} porque {tarjeta} está congelada, quítale la pausa",
            "desbloquear {tarjeta} desde la aplicación", "levantar la suspensión de {tarjeta}",
        ],
        "card_lost": [
            "perdí {tarjeta}", "me robaron {tarjeta}", "me asaltaron y se llevaron la cartera con {tarjeta}",
            "se me perdió la billetera con {tarjeta}", "reportar {tarjeta} como robada", "necesito una tarjeta de reemplazo, la mía se perdió",
            "me clonaron {tarjeta}", "perdí {tarjeta} en {lugar} y ya no aparece", "¿cuánto tarda en llegar la tarjeta nueva si perdí la mía?",
            "si alguien usa {tarjeta} robada, ¿tengo que pagar yo?", "me sacaron {tarjeta} del bolso en el metro",
            "cancelen {tarjeta}, me la robaron", "estoy de viaje en {pais} y perdí {tarjeta}", "denunciar pérdida de {tarjeta}",
        ],
        "dispute_initiation": [
            "hay un cargo en {tarjeta} que yo no hice", "{comercio} me cobró dos veces", "no reconozco un cobro de {amount}",
            "quiero disputar un cargo de {comercio}", "me cobraron {amount} por algo que nunca recibí",
            "cancelé la suscripción de {comercio} y me siguen cobrando", "reclamar el movimiento {txn}",
            "¿cuánto tiempo tengo para disputar un cargo?", "¿me dan un crédito provisional mientras investigan el cargo?",
            "el monto que me cobró {comercio} es mayor al que pagué", "compra fraudulenta de {amount} en mi estado de cuenta",
            "abrir una disputa por una transacción", "me cobraron un servicio que no contraté",
        ],
        "chargeback_grace": [
            "{comercio} prometió devolverme el dinero, ¿cuántos días espera el banco?", "¿qué pasa con mi disputa si el comercio dice que va a reembolsar?",
            "el vendedor dijo que me reembolsa {amount}, ¿debo esperar?", "¿por qué el banco espera cinco días antes del contracargo?",
            "periodo de espera cuando el comercio promete un reembolso", "¿si el comercio no devuelve el dinero a tiempo sigue mi reclamo?",
            "mi disputa está en espera porque {comercio} prometió el reembolso", "¿cuándo se reanuda el contracargo si no llega el reembolso?",
            "el comercio aceptó devolverme el cargo, ¿se cierra la disputa?", "¿qué significa el periodo de gracia del contracargo?",
            "plazo de gracia del comercio para reembolsar antes de la disputa",
        ],
        "flexpay": [
            "¿puedo diferir una compra de {amount} a meses?", "¿qué es FlexPay?", "pagar a plazos la compra de {comercio}",
            "¿qué tasa tiene FlexPay a {n} meses?", "¿hay recargo si me atraso en una cuota de FlexPay?",
            "monto mínimo para usar FlexPay", "¿cuántos planes de cuotas puedo tener al mismo tiempo?",
            "convertir el cargo de {amount} en pagos mensuales", "¿puedo liquidar FlexPay antes de tiempo?",
            "¿qué plazos ofrece FlexPay?", "financiar una compra en cuotas con Larkspur", "¿cómo activo FlexPay en una compra?",
        ],
        "savings_rates": [
            "¿cuál es la tasa de interés de {ahorro}?", "¿cuánto rinde {ahorro} al año?", "¿qué APY paga {ahorro}?",
            "si deposito {amount} en {ahorro}, ¿cuánto interés gano?", "¿qué cuenta de ahorro paga más intereses?",
            "¿cambió la tasa de ahorro este mes?", "diferencia de interés entre Larkspur Saver y Goal Saver",
            "¿cómo se calculan los intereses de {ahorro}?", "rendimiento anual de la cuenta de ahorro", "intereses de mis ahorros",
            "¿conviene ahorrar en Goal Saver por la tasa?",
        ],
        "wire_transfer": [
            "quiero mandar {amount} a {pais}", "¿cuánto cobran por un giro internacional?", "enviar dinero a mi mamá en {pais}",
            "¿a qué hora cierran las transferencias del día?", "¿cuánto tarda una transferencia a {pais}?",
            "límite diario para transferencias", "¿qué datos necesito para una transferencia al extranjero?",
            "¿cobran por recibir un giro del exterior?", "transferencia nacional a otro banco", "código SWIFT para enviar dinero",
            "¿ya salió mi transferencia a {pais}?", "hacer un wire de {amount}",
        ],
        "balance": [
            "¿cuánto dinero tengo en {cuenta}?", "quiero ver mi saldo", "¿cuál es el saldo disponible de {cuenta}?",
            "¿por qué mi saldo disponible es menor que el actual?", "¿cuándo liberan la retención de {comercio}?",
            "consultar saldo de {cuenta}", "¿me alcanza el dinero en {cuenta}?", "los cargos pendientes bajaron mi saldo",
            "dime cuánta plata me queda", "estado de {cuenta} hoy", "¿cuánto hay en mis ahorros?",
        ],
        "fees": [
            "¿cuánto es la cuota mensual de {cuenta}?", "¿por qué me cobraron una comisión?", "¿cuánto cobran por sobregiro?",
            "¿cobran por sacar dinero en cajeros de otros bancos?", "tabla de comisiones del banco",
            "comisión por compras en otra moneda", "¿cómo no pagar la cuota de mantenimiento?", "me cobraron {amount} de cargo por servicio",
            "¿me pueden devolver la comisión por sobregiro?", "¿qué comisiones tiene la tarjeta?", "cargo por cuenta en negativo",
        ],
        "account_opening": [
            "quiero abrir una cuenta", "¿qué necesito para abrir una cuenta?", "abrir una cuenta por internet",
            "¿puede abrir una cuenta alguien que no es ciudadano?", "¿cuánto es el depósito inicial para abrir {cuenta}?",
            "abrir una cuenta en la sucursal", "todavía no soy cliente, ¿cómo me registro?", "abrir otra cuenta de ahorros",
            "¿sirve el pasaporte para abrir una cuenta?", "¿qué edad hay que tener para abrir una cuenta?",
            "abrir una cuenta conjunta con mi esposa", "hacerme cliente de Larkspur",
        ],
        "branch_hours": [
            "¿a qué hora abren las sucursales?", "¿a qué hora cierra el banco?", "¿abren {dia}?", "horario del banco {dia}",
            "¿la sucursal trabaja en días feriados?", "¿hasta qué hora atienden los sábados?", "¿abren los domingos?",
            "horario de la ventanilla", "calendario de días festivos del banco", "¿a qué hora abre el autobanco?",
            "¿está abierta la oficina ahora?",
        ],
        "human_agent": [
            "quiero hablar con una persona", "comuníqueme con un agente", "no quiero hablar con un robot",
            "¿hay alguien real ahí?", "páseme con servicio al cliente", "llámeme un ejecutivo", "necesito un asesor en vivo",
            "quiero hablar con el gerente", "¿puedo hablar con un humano?", "número de teléfono de atención al cliente",
            "transfiéreme a un operador",
        ],
        "other": [
            "¿qué tiempo hace hoy?", "cuéntame un chiste", "¿cómo te llamas?", "¿tienes novia?", "¿a cuánto está el dólar?",
            "escríbeme un poema", "¿a qué hora juega la selección?", "receta de tacos", "traduce esto al inglés", "¿qué hora es?",
            "hola", "muchas gracias", "adiós",
        ],
        "privacy_request": [
            "¿qué información guardan de mí?", "quiero que borren {datos}", "envíenme una copia de {datos}",
            "solicito acceso a {datos}", "eliminen toda {datos} de sus sistemas", "¿para qué usan {datos}?",
            "no quiero que el banco guarde {datos}", "descargar {datos}", "derecho de acceso a mis datos personales",
            "¿cómo pido que eliminen {datos}?", "¿comparten {datos} con terceros?",
        ],
    },
    "vi": {
        "card_freeze": [
            "{toi} muốn khóa tạm {the}", "tạm khóa {the} vài hôm", "khóa {the} lại, {toi} chưa tìm thấy nó", "đóng băng {the} tạm thời",
            "ngưng sử dụng {the} một thời gian", "{toi} không nhớ để {the} ở đâu, khóa tạm trước đã", "có cách nào tạm dừng {the} không",
            "tạm thời vô hiệu hóa {the}", "khóa tạm {the} trong ứng dụng ở mục nào", "khóa {the} để không ai quẹt được",
            "tạm ngừng giao dịch trên {the}", "khóa tạm {the} thì thanh toán định kỳ có bị ảnh hưởng không",
            "con {toi} cầm {the} đi chơi, khóa tạm giùm", "hình như {toi} để quên {the} ở {noi}, khóa tạm thời",
            "bấm khóa thẻ ở đâu trên app",
        ],
        "card_unfreeze": [
            "mở khóa {the}", "{toi} tìm thấy {the} rồi, mở lại đi", "bỏ tạm khóa cho {the}", "kích hoạt lại {the} đã khóa",
            "sao {the} vẫn bị khóa, {toi} muốn dùng lại", "gỡ đóng băng {the}", "cho {the} hoạt động trở lại",
            "mở {the} để {toi} thanh toán ở {ban}", "{the} bị khóa tạm, làm sao mở ra", "{toi} khóa nhầm {the}, mở lại giùm",
            "tiếp tục sử dụng {the} sau khi khóa tạm", "hủy khóa tạm thời {the}", "bật {the} lên lại trong ứng dụng",
            "{toi} lấy lại được {the} ở {noi} rồi, cho dùng tiếp",
        ],
        "card_lost": [
            "{toi} làm mất {the} rồi", "{the} bị mất cắp", "bị giật túi, mất cả {the}", "ví {toi} rơi đâu mất, trong đó có {the}",
            "báo mất thẻ và xin thẻ mới", "{the} bị trộm rồi", "làm lại thẻ bị mất mất bao lâu",
            "{toi} quên {the} ở {noi} giờ quay lại không thấy nữa, chắc mất rồi", "mất thẻ thì {toi} có phải trả các giao dịch gian lận không",
            "cần thẻ thay thế vì thẻ cũ bị mất", "{toi} bị móc túi mất {the}", "mất {the} khi đi du lịch ở {nuoc}",
            "báo thẻ bị đánh cắp", "gửi thẻ mới cho {toi}, thẻ cũ mất rồi", "hủy {the} vì bị kẻ gian lấy mất",
        ],
        "dispute_initiation": [
            "{toi} bị trừ {amount} mà không hề mua gì", "có giao dịch lạ trên {the}", "khiếu nại khoản thanh toán ở {ban}",
            "{ban} tính tiền {toi} hai lần", "{toi} không nhận ra giao dịch {amount} này", "muốn tranh chấp một giao dịch",
            "đòi lại tiền cho giao dịch {txn}", "hàng không giao mà tiền vẫn bị trừ", "thời hạn khiếu nại giao dịch là bao lâu",
            "khi khiếu nại có được ghi có tạm thời không", "{toi} bị tính sai số tiền ở {ban}", "báo giao dịch gian lận {amount}",
            "mở hồ sơ tra soát", "{toi} đã hủy dịch vụ mà {ban} vẫn trừ tiền",
        ],
        "chargeback_grace": [
            "người bán hứa hoàn tiền thì ngân hàng chờ mấy ngày", "{ban} nói sẽ refund, vậy khiếu nại của {toi} thế nào",
            "thời gian ân hạn trước khi bồi hoàn", "5 ngày chờ hoàn tiền là gì", "cửa hàng bảo sẽ trả lại tiền, {toi} có cần đợi không",
            "vì sao ngân hàng chưa bồi hoàn ngay mà phải chờ người bán", "hết thời gian chờ mà người bán chưa hoàn tiền thì sao",
            "khiếu nại của {toi} đang tạm dừng vì người bán hứa hoàn tiền", "bao lâu sau lời hứa hoàn tiền thì tra soát tiếp tục",
            "người bán đồng ý hoàn {amount}, tra soát có bị đóng không", "giai đoạn chờ người bán hoàn tiền kéo dài bao lâu",
            "chargeback grace nghĩa là gì",
        ],
        "flexpay": [
            "trả góp khoản mua {amount} được không", "FlexPay là gì", "chia nhỏ thanh toán thành nhiều tháng", "lãi suất trả góp FlexPay",
            "mua ở {ban} có được trả góp không", "phí trễ hạn của gói trả góp", "tối thiểu bao nhiêu tiền thì được dùng FlexPay",
            "gói {n} tháng APR bao nhiêu", "đăng ký trả góp FlexPay thế nào", "có thể tất toán FlexPay sớm không",
            "có mấy kỳ hạn trả góp", "{toi} muốn chuyển giao dịch {amount} sang trả góp",
        ],
        "savings_rates": [
            "lãi suất tiết kiệm hiện tại", "{goi} trả lãi bao nhiêu phần trăm", "gửi tiết kiệm {amount} một năm được bao nhiêu tiền lãi",
            "APY của Goal Saver", "tài khoản tiết kiệm nào lãi cao nhất", "lãi suất tiết kiệm có thay đổi không",
            "tiền lãi tiết kiệm được tính thế nào", "Larkspur Saver và Goal Saver lãi khác nhau thế nào", "lãi tiết kiệm tháng này",
            "gửi tiền vào {goi} có lời không", "tỷ suất sinh lợi hằng năm của {goi}",
        ],
        "wire_transfer": [
            "chuyển khoản quốc tế mất phí bao nhiêu", "{toi} cần gửi tiền sang {nuoc}", "chuyển tiền wire mất mấy ngày",
            "hạn mức chuyển tiền một ngày", "giờ cắt lệnh chuyển tiền", "gửi {amount} cho người thân ở {nuoc}",
            "cần thông tin gì để chuyển tiền ra nước ngoài", "phí nhận tiền từ nước ngoài", "chuyển tiền trong nước có mất phí không",
            "mã SWIFT để chuyển tiền", "lệnh chuyển tiền sang {nuoc} của {toi} đi chưa", "làm lệnh chuyển {amount} đi {nuoc}",
        ],
        "balance": [
            "{tk} còn bao nhiêu", "cho {toi} xem số dư", "số dư khả dụng với số dư hiện tại khác gì", "sao tiền trong {tk} bị giữ lại",
            "khoản tạm giữ ở {ban} bao giờ hết", "trong {tk} còn bao nhiêu tiền", "kiểm tra tiền trong {tk}", "{toi} còn đủ tiền không",
            "giao dịch đang chờ xử lý làm giảm số dư", "tra cứu số dư {tk}", "hiện giờ {toi} có bao nhiêu tiền",
        ],
        "fees": [
            "phí duy trì tài khoản hằng tháng bao nhiêu", "sao {toi} bị thu phí", "phí thấu chi là bao nhiêu",
            "rút tiền ở cây ATM khác ngân hàng có tốn phí không", "biểu phí của ngân hàng", "phí giao dịch ngoại tệ khi mua hàng nước ngoài",
            "làm sao để được miễn phí hằng tháng", "khoản phí dịch vụ {amount} là gì", "phí khi {tk} bị âm tiền",
            "dùng thẻ có mất phí gì không", "hoàn lại phí thấu chi được không",
        ],
        "account_opening": [
            "{toi} muốn mở tài khoản", "mở tài khoản cần giấy tờ gì", "đăng ký tài khoản mới online", "người nước ngoài mở tài khoản được không",
            "mở {tk} cần nạp tối thiểu bao nhiêu", "làm thủ tục mở tài khoản ở chi nhánh", "{toi} chưa có tài khoản ở Larkspur, đăng ký thế nào",
            "mở thêm một tài khoản tiết kiệm", "dùng hộ chiếu mở tài khoản được không", "bao nhiêu tuổi thì mở được tài khoản",
            "mở tài khoản chung với vợ", "trở thành khách hàng của Larkspur",
        ],
        "branch_hours": [
            "chi nhánh mở cửa mấy giờ", "mấy giờ ngân hàng đóng cửa", "{luc} chi nhánh có làm việc không", "ngày lễ ngân hàng có nghỉ không",
            "giờ làm việc của phòng giao dịch gần nhất", "thứ Bảy ngân hàng mở đến mấy giờ", "Chủ nhật có mở cửa không",
            "quầy giao dịch làm việc từ mấy giờ", "lịch nghỉ lễ của ngân hàng", "quầy drive-up mở cửa lúc nào", "bây giờ chi nhánh còn mở không",
        ],
        "human_agent": [
            "cho {toi} nói chuyện với nhân viên", "chuyển máy cho người thật", "{toi} muốn gặp tổng đài viên", "không muốn chat với bot",
            "có ai là người thật không", "kết nối {toi} với bộ phận chăm sóc khách hàng", "gọi cho {toi} một nhân viên",
            "cần người tư vấn trực tiếp", "cho gặp quản lý", "nói chuyện với người được không", "số điện thoại tổng đài",
        ],
        "other": [
            "hôm nay thời tiết thế nào", "kể một câu chuyện cười", "bạn tên gì", "bạn có người yêu chưa", "giá vàng hôm nay",
            "viết giúp {toi} một bài thơ", "đội tuyển Việt Nam đá mấy giờ", "cách làm bánh mì", "dịch câu này sang tiếng Anh",
            "mấy giờ rồi", "chào bạn", "cảm ơn nhé", "tạm biệt",
        ],
        "privacy_request": [
            "ngân hàng lưu {dl} gì về {toi}", "{toi} muốn xóa {dl}", "gửi cho {toi} bản sao {dl}", "yêu cầu truy cập {dl} của {toi}",
            "xóa toàn bộ {dl} của {toi} khỏi hệ thống", "ngân hàng thu thập {dl} của {toi} để làm gì",
            "{toi} không muốn ngân hàng giữ {dl} của {toi} nữa", "tải về {dl} của {toi}", "xin xem hồ sơ cá nhân ngân hàng đang giữ",
            "làm sao để ngân hàng xóa {dl} của {toi}", "ngân hàng có chia sẻ {dl} của {toi} cho bên khác không",
        ],
    },
}
