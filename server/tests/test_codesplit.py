from factorgate.auth.codesplit import split_code


def test_split_takes_fixed_length_code():
    split = split_code(b"Secret-Pw123456", 6)
    assert split.password == b"Secret-Pw"
    assert split.code == "123456"


def test_split_password_ending_in_digits_takes_only_code_length():
    split = split_code(b"Pw2024" + b"654321", 6)
    assert split.password == b"Pw2024"
    assert split.code == "654321"


def test_split_eight_digit_code():
    split = split_code(b"pw12345678", 8)
    assert split.password == b"pw"
    assert split.code == "12345678"


def test_split_non_digit_tail_is_missing_code():
    assert split_code(b"Secret-Password", 6) is None


def test_split_code_alone_leaves_no_password():
    assert split_code(b"123456", 6) is None


def test_split_non_ascii_password_kept_as_bytes():
    password = "Grüße-€".encode()
    split = split_code(password + b"000111", 6)
    assert split.password == password


def test_split_non_ascii_digits_are_not_a_code():
    # Arabic-Indic digits pass str.isdigit but are not an OTP code.
    assert split_code("pw١٢٣٤٥٦".encode(), 6) is None


def test_split_with_delimiter():
    split = split_code(b"pw,with,commas,123456", 6, b",")
    assert split.password == b"pw,with,commas"
    assert split.code == "123456"


def test_split_with_delimiter_requires_it():
    assert split_code(b"password123456", 6, b",") is None


def test_split_with_delimiter_wrong_code_length():
    assert split_code(b"password,12345", 6, b",") is None


def test_ad_bind_name_prefixes_bare_names():
    from factorgate.directory.names import ad_bind_name

    assert ad_bind_name(b"bob", "CORP") == b"CORP\\bob"
    assert ad_bind_name(b"bob@corp.example.test", "CORP") == b"bob@corp.example.test"
    assert ad_bind_name(b"OTHER\\bob", "CORP") == b"OTHER\\bob"
    assert ad_bind_name(b"CN=Bob,DC=corp", "CORP") == b"CN=Bob,DC=corp"
    assert ad_bind_name(b"bob", "") == b"bob"
