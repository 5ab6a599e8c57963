"""The words Larkspur's customers use to ask for each card and dispute action, in English, Spanish and Vietnamese.

Read by `loopwright.tools.words` (accent- and case-folded, from a word start; a
match inside a longer match of the opposite action does not count, so
"unfreeze" never reads as "freeze", nor "mở khóa" as "khóa"). Written from the
sample's phrases and ordinary usage; `tests/data/heldout_actions.jsonl` measures
them and is never used to tune them.

States ("my card is frozen", "bị khóa", "congelada") are left out on purpose:
they describe the card, not what the customer wants done.
"""

from __future__ import annotations

_ANY = r"(?:[\w'-]+ ){0,3}"  # up to three words in between: "turn [my card 5212] back on"

FREEZE = {
    "en": (
        r"freez(?:e|es|ing)\b", r"lock(?:s|ing)?\b", r"block(?:s|ing)?\b", r"suspend(?:s|ing)?\b", r"pause\b",
        r"deactivat(?:e|ing)\b", r"disabl(?:e|ing)\b", r"put " + _ANY + r"on hold", r"hold on\b",
        r"stop " + _ANY + r"(?:purchases|charges|transactions|payments|spending)",
        r"(?:turn|switch|shut) " + _ANY + r"off\b",
        # a lost or stolen card is frozen first (the `card_lost` intent's tool)
        r"lost\b", r"stolen\b", r"stole\b", r"missing\b", r"misplac\w*", r"can'?t find", r"cannot find",
        r"dropped\b", r"snatched\b", r"pickpocket\w*",
    ),
    "es": (
        r"congel(?!ad[oa]s?\b|amiento)\w*", r"bloque(?!ad[oa]s?\b|o\b)\w*", r"suspend\w*", r"paus(?:a|ar|en|e)\b",
        r"pon\w* en pausa", r"inmoviliz\w*", r"desactiv\w*", r"inhabilit\w*",
        r"perd(?:i|io|ida|ido)\b", r"rob(?:aron|ada|ado|o)\b", r"extravi\w*", r"se me cayo", r"asalt\w*",
        r"no encuentro", r"hurt\w*",
    ),
    "vi": (
        r"(?<!bi )(?<!dang )khoa", r"dong bang", r"chan (?:the|giao dich|moi)", r"tam ngung", r"tam dung", r"ngung the",
        r"(?:bi|lam|danh) mat", r"mat the", r"bi trom", r"danh cap", r"bi cuop", r"moc tui", r"that lac",
        r"(?:danh|lam) roi", r"khong tim thay",
    ),
}

UNFREEZE = {
    "en": (
        r"un-?freez\w*", r"un-?lock\w*", r"un-?block\w*", r"unpaus\w*", r"reactivat\w*", r"re-?enabl\w*", r"enable\b",
        r"(?:turn|switch|put) " + _ANY + r"back on\b", r"turn (?:it|them) on\b",
        r"(?:remove|lift|end|cancel|undo|reverse|drop) " + _ANY + r"(?:freeze|lock|block|hold)\b",
        r"take " + _ANY + r"(?:freeze|lock|block|hold) off\b", r"(?:freeze|lock|block|hold) " + _ANY + r"off\b",
        r"undo\b", r"reverse\b", r"resume\b", r"found\b", r"got " + _ANY + r"back\b",
        r"work(?:s|ing)? again", r"use " + _ANY + r"again",
    ),
    "es": (
        r"descongel\w*", r"desbloque\w*", r"reactiv\w*", r"habilit\w*", r"activ\w* " + _ANY + r"(?:de nuevo|otra vez)",
        r"vuelv\w* a (?:activar|funcionar|usar)", r"vuelva a funcionar",
        r"(?:quit|levant|elimin|retir)\w* " + _ANY + r"(?:bloqueo|congelamiento|congelacion|pausa)",
        r"encontr\w*", r"recuper\w*", r"deshac\w*", r"deshaz",
    ),
    "vi": (
        r"mo khoa", r"mo lai", r"mo the", r"(?:bo|go|huy) (?:khoa|chan|dong bang)", r"kich hoat", r"hoat dong lai",
        r"tim thay", r"tim duoc", r"dung lai duoc",
    ),
}

DISPUTE = {
    "en": (
        r"disput\w*", r"contest\w*", r"charge ?back\w*", r"challeng\w*", r"(?:don'?t|do not|didn'?t) recogni[sz]e",
        r"never (?:arrived|came|received|got)", r"charged twice", r"twice\b", r"duplicate\w*", r"wrong (?:amount|charge)",
        r"not mine", r"unauthori[sz]ed",
    ),
    "es": (
        r"disput\w*", r"reclam\w*", r"impugn\w*", r"contracargo", r"no reconozc\w*", r"dos veces", r"duplicad\w*",
        r"nunca (?:llego|recibi)", r"cobr\w* de mas", r"esta mal",
    ),
    "vi": (
        r"khieu nai", r"tranh chap", r"khong nhan ra", r"hai lan", r"trung\b", r"sai so tien", r"chua (?:nhan|giao)",
    ),
}

CANCEL_DISPUTE = {
    "en": (r"(?:cancel|withdraw|drop|close|retract|stop|call off)\w* " + _ANY + r"(?:dispute|claim|chargeback)",),
    "es": (r"(?:cancel|retir|anul|cerr|desist)\w* " + _ANY + r"(?:disputa|reclamo|reclamacion)",),
    "vi": (r"(?:huy|rut|dong|ngung) (?:\w+ ){0,2}(?:khieu nai|tranh chap)",),
}
