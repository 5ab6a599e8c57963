"""Language identification on held-out sentences written for this test (never used to tune anything).

Customer-style messages in English, Spanish and Vietnamese, some typed without
accents, none taken from the sample's phrases. The old heuristic guessed
Spanish from bank words (tarjeta, cuenta, tasa); these sentences include ones
where that vocabulary is absent or misleading.
"""

from __future__ import annotations

from loopwright.language import detect_language

LANGS = ("en", "es", "vi")

HELD_OUT = {
    "en": [
        "Where can I find my yearly tax form?",
        "I moved to a new apartment and need to change my address",
        "why was I charged a fee this month",
        "can I set up automatic payments for my phone bill",
        "my paycheck hasn't shown up yet",
        "what time do you close on Fridays",
        "is there a limit on how much cash I can take out",
        "I'd like to talk to somebody about a loan",
        "how do I turn on text alerts",
        "send me a copy of last month's statement",
        "the app keeps logging me out",
        "do you charge for paper checks",
        "my daughter wants her own account, what does she need",
        "How long does a transfer to another bank take?",
        "I forgot my password again",
        "what is the interest on savings right now",
        "tasa is not a word I know, what is the rate",
        "can you explain the overdraft rules",
        "help",
        "thanks, that answers it",
    ],
    "es": [
        "¿Dónde encuentro mi formulario de impuestos anual?",
        "me mudé y necesito cambiar mi dirección",
        "por que me cobraron una comision este mes",
        "quisiera hablar con alguien sobre un préstamo",
        "mi sueldo todavía no aparece",
        "a qué hora cierran los viernes",
        "hay un límite de efectivo que puedo retirar al día",
        "cómo activo las alertas por mensaje de texto",
        "envíenme una copia del estado de cuenta del mes pasado",
        "la aplicación me saca de la sesión todo el tiempo",
        "cobran por los cheques de papel",
        "mi hija quiere abrir su propia cuenta, qué necesita",
        "cuanto tarda una transferencia a otro banco",
        "olvidé mi contraseña otra vez",
        "me pueden explicar las reglas de sobregiro",
        "necesito ayuda con un pago que no reconozco",
        "buenas tardes, tengo una duda",
        "gracias, eso es todo",
        "el cajero se tragó mi tarjeta de débito",
        "quiero saber el saldo de mi cuenta de ahorros",
    ],
    "vi": [
        "Tôi có thể tìm mẫu thuế hằng năm ở đâu?",
        "tôi mới chuyển nhà và cần đổi địa chỉ",
        "tại sao tháng này tôi bị trừ phí",
        "tôi muốn nói chuyện với nhân viên về khoản vay",
        "lương của tôi vẫn chưa vào tài khoản",
        "thứ sáu ngân hàng đóng cửa lúc mấy giờ",
        "mỗi ngày tôi rút tiền mặt tối đa bao nhiêu",
        "làm sao để bật thông báo qua tin nhắn",
        "gửi cho tôi bản sao kê tháng trước",
        "ứng dụng cứ tự đăng xuất",
        "toi quen mat khau roi",
        "chuyen tien sang ngan hang khac mat bao lau",
        "con gái tôi muốn mở tài khoản riêng",
        "giải thích giúp tôi quy định thấu chi",
        "lai suat tiet kiem hien nay la bao nhieu",
        "cây ATM nuốt thẻ của tôi",
        "xin chào, tôi có một câu hỏi",
        "cảm ơn nhiều",
        "tôi không nhận ra một khoản thanh toán",
        "số dư tài khoản tiết kiệm của tôi là bao nhiêu",
    ],
}


def test_held_out_sentences_are_identified_per_language():
    accuracy = {}
    for lang, sentences in HELD_OUT.items():
        wrong = [s for s in sentences if detect_language(s, LANGS) != lang]
        accuracy[lang] = 1 - len(wrong) / len(sentences)
        print(lang, f"{accuracy[lang]:.0%}", wrong)
    # Measured: en 100%, es 100%, vi 100% (see the commit); short greetings are the hard case.
    assert all(a >= 0.9 for a in accuracy.values()), accuracy


def test_bank_vocabulary_does_not_decide_the_language():
    # The old guess said Spanish for any message with "tasa", "cuenta" or "para".
    assert detect_language("what is the tasa on the Larkspur Saver account", LANGS) == "en"
    assert detect_language("I need to pay para my rent, which account should I use", LANGS) == "en"


def test_empty_text_falls_back_to_the_default():
    assert detect_language("", LANGS) == "en" and detect_language("  ", LANGS, default="es") == "es"
    assert detect_language("5212", LANGS) in LANGS


def test_only_the_offered_languages_are_answered():
    assert detect_language("Bonjour, je voudrais ouvrir un compte", ["en", "es"]) in ("en", "es")
    assert detect_language("anything at all", ["vi"]) == "vi"
    assert detect_language("anything at all", ["xx"]) == "en"


def test_a_burst_of_first_calls_loads_the_identifier_once():
    """A server's first calls come at once; each used to load the model (~1 s of CPU) for itself."""
    from concurrent.futures import ThreadPoolExecutor

    from loopwright import language

    languages = ["de", "en", "fr"]  # a language set no other test narrows to, so its table is not cached yet
    loads = language._narrowed.cache_info().misses
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: detect_language("Guten Morgen, wie geht es Ihnen heute?", languages), range(8)))
    assert answers == ["de"] * 8
    assert language._narrowed.cache_info().misses == loads + 1
