async def test_me_answers_the_signed_in_teacher(teacher):
    data = await teacher.data("{ me { __typename fullName role } }")
    assert data["me"] == {"__typename": "Teacher", "fullName": "Claire MARTIN", "role": "TEACHER"}


async def test_healthz(http):
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up"}
