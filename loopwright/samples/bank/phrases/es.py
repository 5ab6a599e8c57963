"""Spanish customer-message templates per intent."""

SLOTS: dict[str, list[str]] = {
    "tarjeta": ["tarjeta", "tarjeta de débito", "tarjeta Larkspur", "tarjeta que termina en {last4}",
                "tarjeta terminada en {last4}"],
    "comercio": ["Brightmart", "Cedar Grocers", "StreamBox", "Skyline Air", "Harbor Electronics",
                 "una tienda en línea", "el hotel", "la aerolínea"],
    "ahora": ["", " ahora", " ya", " hoy", " de inmediato", " por favor"],
    "ahorro": ["Larkspur Saver", "Goal Saver", "mi cuenta de ahorros", "la cuenta de ahorro"],
    "cuenta": ["cuenta corriente", "cuenta de ahorros", "Everyday Checking", "cuenta"],
    "lugar": ["México", "Colombia", "España", "Guatemala", "mi hermana en Texas"],
    "dia": ["sábado", "domingo", "lunes", "viernes", "fin de semana"],
    "cargo": ["cargo por sobregiro", "cargo mensual", "cargo de cajero", "cargo por transacción extranjera"],
    "ciudad": ["Madrid", "Bogotá", "Lima", "Ciudad de México", "Buenos Aires"],
    "datos": ["datos", "datos personales", "información", "información personal", "registros"],
    "borrar": ["borra", "elimina", "suprime", "borren", "eliminen"],
    "saludo": ["hola", "buenos días", "gracias", "muchas gracias", "buenas tardes", "adiós"],
}

TEMPLATES: dict[str, list[str]] = {
    "card_freeze": [
        "congela mi {tarjeta}{ahora}", "quiero congelar mi {tarjeta}", "¿puedes bloquear temporalmente mi {tarjeta}?",
        "¿cómo congelo mi {tarjeta}?", "no encuentro mi {tarjeta}, bloquéala mientras la busco",
        "si congelo mi {tarjeta}, ¿{comercio} me sigue cobrando?", "pausa mi {tarjeta}{ahora}",
    ],
    "card_unfreeze": [
        "descongela mi {tarjeta}{ahora}", "quiero desbloquear mi {tarjeta}", "encontré mi {tarjeta}, actívala otra vez",
        "¿cómo descongelo mi {tarjeta}?", "mi {tarjeta} está congelada y {comercio} la rechazó",
        "quita el bloqueo de mi {tarjeta}{ahora}",
    ],
    "card_lost": [
        "perdí mi {tarjeta}", "me robaron la {tarjeta}", "quiero reportar mi {tarjeta} como perdida",
        "me robaron la cartera con mi {tarjeta}{ahora}", "¿cuánto tarda una tarjeta de reemplazo?",
        "necesito una {tarjeta} nueva porque la perdí", "robaron mi {tarjeta} en {comercio}",
    ],
    "dispute_initiation": [
        "quiero disputar un cargo de {comercio}", "{comercio} me cobró {amount} dos veces",
        "no reconozco un cargo de {amount}", "¿cómo presento una disputa?", "quiero disputar {txn}",
        "¿cuánto tiempo tengo para disputar un cargo?", "nunca recibí mi pedido de {comercio}, quiero mi dinero",
        "¿cuándo recibo el crédito provisional?",
    ],
    "chargeback_grace": [
        "{comercio} prometió un reembolso, ¿cuánto esperan antes del contracargo?",
        "¿qué es el periodo de gracia de contracargo?",
        "el comercio dijo que me devolvería {amount}, ¿sigue abierta mi disputa?",
        "¿cuántos días mantienen abierta la disputa si {comercio} promete reembolsar?",
        "¿qué pasa si el reembolso de {comercio} nunca llega?", "¿la espera por el reembolso amplía mis 60 días?",
    ],
    "flexpay": [
        "¿cómo funciona FlexPay?", "¿puedo dividir una compra de {amount} en cuotas?",
        "¿qué APR tiene un plan FlexPay de {n} meses?", "¿FlexPay cobra intereses?",
        "¿cuál es la compra mínima para FlexPay?", "¿cuántos planes FlexPay puedo tener?",
        "¿hay cargo por pago atrasado en FlexPay?", "quiero pagar mi compra de {comercio} en {n} cuotas",
    ],
    "savings_rates": [
        "¿cuál es la tasa de {ahorro}?", "¿qué APY paga {ahorro}?", "¿cuánto interés gano con {amount} en {ahorro}?",
        "¿qué cuenta de ahorro paga más?", "¿cambiaron las tasas de ahorro en octubre?", "tasas de ahorro actuales",
    ],
    "wire_transfer": [
        "¿cuánto cuesta una transferencia internacional?", "quiero enviar un giro de {amount} a {lugar}",
        "¿cuál es la hora límite para transferencias el mismo día?", "¿cuánto tarda una transferencia a {lugar}?",
        "¿puedo enviar una transferencia el {dia}?", "comisión por transferencia nacional",
    ],
    "balance": [
        "¿cuál es mi saldo?", "¿cuánto dinero tengo en mi {cuenta}?", "saldo de mi {cuenta}",
        "¿por qué mi saldo disponible es menor?", "¿cuándo se quita la retención de {comercio}?",
        "¿ya llegó mi depósito a mi {cuenta}?",
    ],
    "fees": [
        "¿cuánto es el {cargo}?", "¿por qué me cobraron un {cargo}?", "¿cómo evito el cargo mensual?",
        "¿cobran por usar cajeros de otros bancos?", "¿me pueden devolver el {cargo}?", "lista de comisiones",
    ],
    "account_opening": [
        "¿cómo abro una {cuenta}?", "quiero abrir una {cuenta}", "¿qué necesito para abrir una {cuenta}?",
        "¿puedo abrir una cuenta con ITIN?", "¿cuál es el depósito mínimo para abrir una {cuenta}?",
        "¿puedo abrir una {cuenta} en línea?",
    ],
    "branch_hours": [
        "¿a qué hora abren el {dia}?", "¿están abiertos el {dia}?", "horario de la sucursal el {dia}",
        "¿a qué hora cierra la sucursal?", "¿abren en Navidad?", "¿cuál es el horario del autobanco?",
    ],
    "human_agent": [
        "quiero hablar con una persona", "pásame con un agente{ahora}", "¿puedo hablar con un humano?",
        "necesito un representante", "comunícame con servicio al cliente{ahora}", "agente por favor",
        "quiero hablar con alguien sobre mi {cuenta}",
    ],
    "other": [
        "¿qué tiempo hace en {ciudad}?", "cuéntame un chiste", "{saludo}", "¿quién ganó el partido de ayer?",
        "recomiéndame una película", "¿cuál es la capital de Perú?", "¿eres un robot?", "{saludo}, ¿qué puedes hacer?",
        "escribe un poema sobre {ciudad}",
    ],
    "privacy_request": [
        "¿qué {datos} tienen sobre mí?", "quiero una copia de mis {datos}", "{borrar} mis {datos}{ahora}",
        "{borrar} todos mis {datos}", "quiero que {borrar} mis {datos}", "¿qué saben de mí?",
        "muéstrame los {datos} que guardan de mí", "quiero descargar mis {datos}", "derecho al olvido",
        "ejerzo mi derecho de supresión, {borrar} mis {datos}", "¿cómo pido que borren mis {datos}?",
        "quiero ejercer mi derecho de acceso a mis {datos}",
    ],
}
