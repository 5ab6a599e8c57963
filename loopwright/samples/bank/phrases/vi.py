"""Vietnamese customer-message templates per intent."""

SLOTS: dict[str, list[str]] = {
    "the": ["thẻ", "thẻ ghi nợ", "thẻ Larkspur", "thẻ đuôi {last4}", "thẻ tận cùng {last4}"],
    "cuahang": ["Brightmart", "Cedar Grocers", "StreamBox", "Skyline Air", "cửa hàng", "khách sạn"],
    "ngay": ["", " ngay", " giúp tôi", " bây giờ", " ngay bây giờ"],
    "tietkiem": ["Larkspur Saver", "Goal Saver", "tài khoản tiết kiệm"],
    "taikhoan": ["tài khoản thanh toán", "tài khoản tiết kiệm", "tài khoản"],
    "noi": ["Việt Nam", "Hà Nội", "Sài Gòn", "Canada", "Đà Nẵng"],
    "thu": ["thứ Bảy", "Chủ nhật", "thứ Hai", "cuối tuần"],
    "dulieu": ["dữ liệu", "dữ liệu cá nhân", "thông tin", "thông tin cá nhân"],
    "xoa": ["xóa", "xoá", "xóa hết", "xóa vĩnh viễn"],
    "chao": ["xin chào", "chào bạn", "cảm ơn", "cảm ơn nhiều", "tạm biệt"],
}

TEMPLATES: dict[str, list[str]] = {
    "card_freeze": [
        "khóa tạm thời {the} của tôi{ngay}", "tôi muốn khóa {the}", "làm sao để khóa {the}?",
        "tôi để quên {the} ở {cuahang}, khóa tạm{ngay}", "khóa {the} thì {cuahang} có còn trừ tiền không?",
        "tạm ngưng {the} của tôi{ngay}",
    ],
    "card_unfreeze": [
        "mở khóa {the} của tôi{ngay}", "tôi tìm thấy {the} rồi, mở lại giúp tôi", "làm sao mở khóa {the}?",
        "{the} bị khóa nên {cuahang} từ chối, mở khóa{ngay}", "bỏ khóa {the}{ngay}",
    ],
    "card_lost": [
        "tôi bị mất {the}", "{the} của tôi bị đánh cắp", "báo mất {the}{ngay}", "làm thẻ mới mất bao lâu?",
        "tôi làm rơi {the}, cần thẻ thay thế", "bị trộm ví có {the} ở {cuahang}",
    ],
    "dispute_initiation": [
        "tôi muốn khiếu nại giao dịch ở {cuahang}", "{cuahang} trừ tiền tôi hai lần {amount}",
        "có giao dịch {amount} tôi không nhận ra", "làm sao để khiếu nại giao dịch?", "khiếu nại {txn}{ngay}",
        "tôi có bao lâu để khiếu nại?",
    ],
    "chargeback_grace": [
        "{cuahang} hứa hoàn tiền, ngân hàng chờ bao lâu trước khi bồi hoàn?", "chargeback grace là gì?",
        "người bán nói sẽ hoàn {amount}, khiếu nại của tôi còn mở không?",
        "nếu {cuahang} không hoàn tiền thì sao?", "thời gian chờ hoàn tiền là mấy ngày?",
    ],
    "flexpay": [
        "FlexPay hoạt động thế nào?", "tôi có thể trả góp {amount} không?",
        "APR của gói FlexPay {n} tháng là bao nhiêu?",
        "FlexPay có tính lãi không?", "có thể có bao nhiêu gói FlexPay?", "phí trả chậm FlexPay là bao nhiêu?",
    ],
    "savings_rates": [
        "lãi suất {tietkiem} là bao nhiêu?", "{tietkiem} trả APY bao nhiêu?",
        "gửi {amount} vào {tietkiem} được bao nhiêu lãi?",
        "tài khoản tiết kiệm nào lãi cao hơn?", "lãi suất tiết kiệm hiện nay",
    ],
    "wire_transfer": [
        "phí chuyển tiền quốc tế là bao nhiêu?", "tôi muốn chuyển {amount} về {noi}",
        "giờ chốt chuyển tiền trong ngày?",
        "chuyển tiền đi {noi} mất bao lâu?", "phí chuyển khoản trong nước",
    ],
    "balance": [
        "số dư của tôi là bao nhiêu?", "trong {taikhoan} còn bao nhiêu tiền?", "kiểm tra số dư {taikhoan}",
        "sao số dư khả dụng thấp hơn?", "khoản tạm giữ của {cuahang} khi nào hết?",
    ],
    "fees": [
        "phí thấu chi là bao nhiêu?", "tại sao tôi bị trừ phí hằng tháng?", "làm sao để không mất phí duy trì?",
        "rút tiền ở ATM khác có mất phí không?", "phí giao dịch nước ngoài là bao nhiêu?",
    ],
    "account_opening": [
        "làm sao mở {taikhoan}?", "tôi muốn mở {taikhoan}", "cần giấy tờ gì để mở {taikhoan}?",
        "mở tài khoản bằng ITIN được không?", "mở {taikhoan} online được không?",
    ],
    "branch_hours": [
        "chi nhánh mở cửa lúc mấy giờ vào {thu}?", "{thu} ngân hàng có mở cửa không?", "giờ làm việc của chi nhánh?",
        "lễ Tạ ơn chi nhánh có mở không?", "mấy giờ chi nhánh đóng cửa?",
    ],
    "human_agent": [
        "cho tôi nói chuyện với nhân viên", "tôi muốn gặp người thật{ngay}", "chuyển tôi sang tổng đài viên",
        "kết nối với nhân viên hỗ trợ{ngay}", "tôi cần người hỗ trợ về {taikhoan}",
    ],
    "other": [
        "thời tiết ở {noi} hôm nay thế nào?", "kể chuyện cười đi", "{chao}", "bạn là robot à?",
        "món phở nấu thế nào?", "{chao}, bạn làm được gì?", "đội nào thắng trận bóng hôm qua?",
    ],
    "privacy_request": [
        "ngân hàng giữ {dulieu} gì về tôi?", "tôi muốn bản sao {dulieu} của tôi", "{xoa} {dulieu} của tôi{ngay}",
        "hãy {xoa} tất cả {dulieu} của tôi", "tôi muốn xem {dulieu} các bạn lưu về tôi", "tải {dulieu} của tôi về",
        "tôi yêu cầu {xoa} {dulieu}", "các bạn biết gì về tôi?", "làm sao để {xoa} {dulieu} của tôi?",
        "các bạn đang lưu những {dulieu} nào của tôi?", "Larkspur có những {dulieu} gì của tôi?",
        "tôi muốn biết ngân hàng nắm giữ {dulieu} nào về tôi", "ngân hàng đang lưu trữ {dulieu} gì của tôi?",
        "bên bạn đang có những {dulieu} gì về tôi?", "cho tôi xem ngân hàng đang giữ {dulieu} nào",
    ],
}
