"""Regional phrasing for the held-back adapter set: chargeback grace versus disputes.

Customers of the Larkspur region say "grace window" and "the merchant said
they'd refund"; the base utterance set barely does, which is what the adapter
is meant to fix. Slots come from the language modules.
"""

TEMPLATES: dict[str, dict[str, list[str]]] = {
    "en": {
        "chargeback_grace": [
            "is the chargeback grace still running on my {merchant} claim?",
            "{merchant} said they'd refund {amount}, does chargeback grace kick in?",
            "how long is the grace window before you charge back {merchant}?",
            "merchant said they'd refund me, so is my case in the grace window now?",
            "the shop swore they'd refund {amount} by friday, what does the bank do meanwhile?",
            "we're in chargeback grace with {merchant} right? when does it end?",
            "grace window on {txn}, how many days left?",
            "{merchant} promised money back{when}, do you pause the chargeback?",
            "does chargeback grace count weekends?",
            "is chargeback grace 5 business days or calendar days?",
            "my dispute with {merchant} says grace, what does that mean?",
            "they told me the refund of {amount} is coming, are you holding off on the chargeback?",
            "grace period after the merchant promised a refund, how does it work?",
            "{merchant} said refund in 3 days, will the grace window cover that?",
            "what happens when the chargeback grace runs out and {merchant} hasn't paid?",
            "can you extend the grace window on {txn}? {merchant} needs more time",
            "the merchant said they'd refund, so do I wait out the grace or file now?",
            "still in chargeback grace for my {amount} {merchant} charge?",
        ],
        "dispute_initiation": [
            "I want to charge back {merchant} for {amount}",
            "file a chargeback on {txn}, {merchant} never refunded",
            "grace window is over and {merchant} still hasn't refunded, start the dispute",
            "start a claim against {merchant} for {amount}",
            "raise a dispute on my {card} for {txn}",
            "kick off a chargeback for the {amount} {merchant} charge",
            "the merchant said they'd refund but never did, dispute {txn} now",
            "open a claim, {merchant} billed me {amount} for something I returned",
            "{merchant} is ignoring me, I need to dispute {amount}",
            "please contest {txn} from {merchant}",
            "I never authorised {amount} at {merchant}, claim it back",
            "dispute the {merchant} charge on my {card}, it was {amount}",
            "new dispute for {txn}: wrong amount charged",
            "{merchant} double billed {amount}, open a chargeback",
            "skip the grace, {merchant} refused to refund, file the dispute",
            "need to dispute {amount} from {merchant}, they won't answer",
        ],
    },
    "es": {
        "chargeback_grace": [
            "¿sigue corriendo la gracia de contracargo con {comercio}?",
            "{comercio} dijo que me reembolsaría {amount}, ¿aplica el periodo de gracia?",
            "¿cuántos días dura la ventana de gracia antes del contracargo?",
            "el comercio prometió devolver el dinero, ¿mi caso está en gracia?",
            "¿la gracia de contracargo cuenta los fines de semana?",
        ],
        "dispute_initiation": [
            "quiero hacer un contracargo a {comercio} por {amount}",
            "abre una reclamación por {txn}, {comercio} nunca me devolvió el dinero",
            "terminó la gracia y {comercio} no reembolsó, inicien la disputa",
            "reclamo el cargo de {amount} de {comercio}",
            "disputa {txn} de inmediato",
        ],
    },
    "vi": {
        "chargeback_grace": [
            "thời gian ân hạn bồi hoàn với {cuahang} còn không?",
            "{cuahang} nói sẽ hoàn {amount}, có áp dụng chargeback grace không?",
            "ân hạn chargeback kéo dài mấy ngày?",
            "người bán hứa hoàn tiền rồi, hồ sơ của tôi đang trong thời gian ân hạn à?",
        ],
        "dispute_initiation": [
            "tôi muốn bồi hoàn giao dịch {amount} ở {cuahang}",
            "hết thời gian ân hạn mà {cuahang} chưa hoàn tiền, mở khiếu nại đi",
            "mở khiếu nại cho {txn}",
            "{cuahang} không chịu hoàn {amount}, tôi muốn khiếu nại",
        ],
    },
}
