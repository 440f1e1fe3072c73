document.getElementById("app").textContent = "Hetu";
