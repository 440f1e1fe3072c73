// Projects and tasks through the interface: a project and a task made in their dialogs (the
// server's 422 under the field it names), the task edited with an output schema the server
// refuses (its message under that field) and then fixed, deletions confirmed by a dialog naming
// what goes; screenshots of each page in both languages at both sizes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { api, axe, makeTask, openPage, shoot, VIEWPORTS, useStack } from "./harness.mjs";

const ctx = useStack();

// The message shown under the control labelled `label`.
function fieldError(page, label) {
    return page.locator(".field", { has: page.getByLabel(label, { exact: true }) }).locator(".field-error");
}

test("a project and a task are made, edited and deleted through the interface", async () => {
    const page = await openPage(ctx.browser, ctx.stack.base);
    await page.goto("/");
    await page.getByRole("heading", { name: "No projects yet" }).waitFor();
    await axe(page, "projects, empty");
    await shoot(page, "projects-empty", "en");

    // the server's 422 for an empty name shows under Name
    await page.getByRole("button", { name: "Create your first project" }).click();
    const dialog = page.getByRole("dialog", { name: "New project" });
    page.expectStatus(422, "/api/project");
    await dialog.getByRole("button", { name: "Create" }).click();
    await fieldError(page, "Name").waitFor();
    assert.equal(await fieldError(page, "Name").textContent(), "name must not be empty");
    await axe(page, "new project dialog with an error");
    await dialog.getByLabel("Name", { exact: true }).fill("Support");
    await dialog.getByLabel("Description").fill("Answers for the help desk");
    await dialog.getByRole("button", { name: "Create" }).click();

    // the new project's page, with no tasks yet
    await page.getByRole("heading", { level: 1, name: "Support" }).waitFor();
    assert.match(page.url(), /\/projects\/\d+$/);
    const projectId = page.url().split("/").pop();
    await page.getByRole("heading", { name: "No tasks yet" }).waitFor();
    await axe(page, "project, no tasks");

    // a task with a requirement
    await page.getByRole("button", { name: "Create the first task" }).click();
    const taskDialog = page.getByRole("dialog", { name: "New task" });
    await taskDialog.getByLabel("Task name").fill("Answer");
    await taskDialog.getByLabel("Instruction", { exact: true }).fill("Answer the customer's question politely.");
    await taskDialog.getByRole("button", { name: "Add requirement" }).click();
    const req = taskDialog.getByRole("group", { name: "Requirement 1" });
    await req.getByLabel("Name").fill("tone");
    await req.getByLabel("How to judge it").fill("Never blame the customer");
    await req.getByLabel("Rating").selectOption("pass_fail");
    await axe(page, "new task dialog");
    await shoot(page, "task-new-dialog", "en");
    await taskDialog.getByRole("button", { name: "Create task" }).click();

    // its overview
    await page.getByRole("heading", { level: 1, name: "Answer" }).waitFor();
    const taskId = page.url().split("/").pop();
    await page.locator("[data-testid=sample-count]", { hasText: "0" }).waitFor();
    for (const step of ["Grow a topic tree", "Generate samples", "Import a file"])
        assert.equal(await page.getByRole("link", { name: new RegExp(step) }).count(), 1, step);
    let task = await api(ctx.stack.base, "GET", `/api/projects/${projectId}/tasks/${taskId}`);
    assert.deepEqual(task.requirements.map((r) => [r.name, r.instruction, r.type, r.priority]),
        [["tone", "Never blame the customer", "pass_fail", 2]]);
    await axe(page, "task overview");

    // JSON that does not parse is caught here, with where the error is, and nothing is sent
    const output = page.getByLabel("Output JSON schema");
    await output.fill('{"type": }');
    await page.getByRole("button", { name: "Save changes" }).click();
    assert.equal(await fieldError(page, "Output JSON schema").textContent(),
        "This is not valid JSON: the error is at line 1, column 10.");

    // a schema the server refuses: its message under the field
    await output.fill('{"type": "string"}');
    page.expectStatus(400, `/task/${taskId}`);
    await page.getByRole("button", { name: "Save changes" }).click();
    await fieldError(page, "Output JSON schema").filter({ hasText: "object" }).waitFor();
    assert.equal(await fieldError(page, "Output JSON schema").textContent(),
        'output_json_schema: type must be "object" at the top level');
    assert.equal(await fieldError(page, "Input JSON schema").count(), 0);
    await axe(page, "task overview with the server's schema error");
    await output.scrollIntoViewIfNeeded();
    await shoot(page, "task-schema-error", "en");

    // fixed, and renamed: the breadcrumb follows
    await output.fill('{"type": "object", "properties": {"reply": {"type": "string"}}, "required": ["reply"]}');
    await page.getByLabel("Task name").fill("Answer politely");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("navigation", { name: "Breadcrumb" }).getByText("Answer politely").waitFor();
    task = await api(ctx.stack.base, "GET", `/api/projects/${projectId}/tasks/${taskId}`);
    assert.equal(task.name, "Answer politely");
    assert.deepEqual(JSON.parse(task.output_json_schema),
        { type: "object", properties: { reply: { type: "string" } }, required: ["reply"] });
    assert.equal(await fieldError(page, "Output JSON schema").count(), 0);

    // the task deleted from the project's page, after a dialog naming it
    await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "Support" }).click();
    await page.getByRole("link", { name: "Answer politely" }).first().waitFor();
    await page.getByRole("button", { name: "Delete task Answer politely" }).click();
    const confirm = page.getByRole("dialog", { name: "Delete task?" });
    assert.equal(await confirm.locator(".dialog-body p").first().textContent(),
        "The task “Answer politely” will be deleted with all its samples, topics and splits.");
    await axe(page, "delete task confirmation");
    await shoot(page, "task-delete-confirm", "en");
    await confirm.getByRole("button", { name: "Delete task" }).click();
    await page.getByRole("heading", { name: "No tasks yet" }).waitFor();
    assert.deepEqual(await api(ctx.stack.base, "GET", `/api/projects/${projectId}/tasks`), []);

    // the project, with two tasks made meanwhile, deleted from the list after a dialog counting them
    for (const name of ["One", "Two"])
        await api(ctx.stack.base, "POST", `/api/projects/${projectId}/task`, { name, instruction: "x" });
    await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "Projects" }).click();
    await page.getByRole("button", { name: "Delete Support" }).click();
    const confirmProject = page.getByRole("dialog", { name: "Delete project?" });
    assert.equal(await confirmProject.locator(".dialog-body p").first().textContent(),
        "The project “Support” and its 2 tasks will be deleted.");
    await confirmProject.getByRole("button", { name: "Cancel" }).click();
    assert.equal((await api(ctx.stack.base, "GET", "/api/projects")).projects.length, 1);
    await page.getByRole("button", { name: "Delete Support" }).click();
    await page.getByRole("dialog", { name: "Delete project?" }).getByRole("button", { name: "Delete project" }).click();
    await page.getByRole("heading", { name: "No projects yet" }).waitFor();
    assert.deepEqual((await api(ctx.stack.base, "GET", "/api/projects")).projects, []);
    await page.closeChecked();
});

test("a project's name and description are edited in place", async () => {
    const { project } = await makeTask(ctx.stack.base, { project: "Drafts", task: "Summarise" });
    const page = await openPage(ctx.browser, ctx.stack.base);
    await page.goto(`/projects/${project.id}`);
    await page.getByRole("button", { name: "Edit project" }).click();
    const dialog = page.getByRole("dialog", { name: "Edit project" });
    await dialog.getByLabel("Name", { exact: true }).fill("Release notes");
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.getByRole("heading", { level: 1, name: "Release notes" }).waitFor();
    assert.equal((await api(ctx.stack.base, "GET", `/api/projects/${project.id}`)).name, "Release notes");
    await api(ctx.stack.base, "DELETE", `/api/projects/${project.id}`);
    await page.closeChecked();
});

test("screenshots of the projects, a project and a task in both languages at both sizes", async () => {
    const { project, task, href } = await makeTask(ctx.stack.base, { project: "Customer support", task: "Answer" });
    await api(ctx.stack.base, "PATCH", `/api/projects/${project.id}`,
        { description: "Replies to customers' questions about orders, refunds and shipping." });
    await api(ctx.stack.base, "PATCH", `/api/projects/${project.id}/task/${task.id}`, {
        description: "First replies to help-desk tickets",
        output_json_schema: JSON.stringify({ type: "object", properties: { reply: { type: "string" } } }),
        requirements: [{ name: "tone", instruction: "Be kind and never blame the customer", type: "five_star" },
            { name: "accuracy", instruction: "Only promise what the policy allows", type: "pass_fail_critical",
                priority: 0 }],
    });
    await api(ctx.stack.base, "POST", `/api/projects/${project.id}/task`,
        { name: "Classify", instruction: "Label the ticket with one of: order, refund, shipping, other." });
    await api(ctx.stack.base, "POST", "/api/project", { name: "Legal drafting", description: "" });
    for (const [locale, lang] of [["en-US", "en"], ["zh-CN", "zh-CN"]]) {
        for (const vp of VIEWPORTS) {
            const page = await openPage(ctx.browser, ctx.stack.base, { locale, viewport: vp });
            await page.goto("/");
            await page.locator(".project-card").nth(1).waitFor();
            await shoot(page, "projects", lang);
            await axe(page, `projects ${lang} ${vp.name}`);
            await page.goto(`/projects/${project.id}`);
            await page.locator(".task-item").nth(1).waitFor();
            await shoot(page, "project", lang);
            await axe(page, `project ${lang} ${vp.name}`);
            await page.goto(href);
            await page.locator("[data-testid=sample-count]", { hasText: "0" }).waitFor();
            await shoot(page, "task", lang);
            await axe(page, `task ${lang} ${vp.name}`);
            await page.closeChecked();
        }
    }
});
