package dev.palimpsest.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import com.fasterxml.jackson.databind.JsonNode;

import dev.palimpsest.world.DefaultModel;

/**
 * The page at {@code /} in headless Chromium (Debian's chromium and chromium-driver, which .ci/run installs): a forget
 * submitted through the form turns applied in the audit log, and the model's answer changes in the try box. The page's
 * screenshot is saved to {@code target/serve-page.png}.
 */
class ServePageTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium"), DRIVER = Path.of("/usr/bin/chromedriver");

    @TempDir
    Path tmp;

    @Test
    void aForgetSubmittedThroughTheFormTurnsAppliedAndTheAnswerChanges() throws Exception {
        // CI installs the browser; a developer machine without it skips this test rather than fail on a missing package.
        boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER);
        if (System.getenv("CI") != null) assertTrue(present, "CI needs Debian's chromium and chromium-driver (.ci/run installs them)");
        assumeTrue(present, "no /usr/bin/chromium and /usr/bin/chromedriver: apt-get install chromium chromium-driver");
        DefaultModel.ensure(0, new PrintWriter(new StringWriter()));
        JsonNode fact = ServerProcess.OM.readTree(DefaultModel.folder(0).resolve("world").resolve("pretrain.json").toFile()).get(5);
        String question = fact.get("question").asText(), answer = fact.get("answer").asText(), token = "page-admin-token-0123456789";
        Path tokens = tmp.resolve("tokens.txt");
        Files.writeString(tokens, token + " admin\n");
        try (ServerProcess s = ServerProcess.start(tmp.resolve("state"), List.of(), "--tokens", tokens.toString(), "--method", "grace")) {
            ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile()).addArguments("--headless=new", "--no-sandbox",
                    "--disable-dev-shm-usage", "--window-size=1280,900");
            ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).build();
            WebDriver browser = new ChromeDriver(service, options);
            try {
                // The audit log is redrawn every second: an element read just before a redraw is stale, and read again.
                var wait = new WebDriverWait(browser, Duration.ofSeconds(120)).ignoring(StaleElementReferenceException.class);
                browser.get("http://127.0.0.1:" + s.port + "/");
                // Without a token the page says what is missing.
                wait.until(b -> b.findElement(By.id("message")).getText().contains("401"));
                browser.findElement(By.id("token")).sendKeys(token + "\n");
                wait.until(b -> b.findElement(By.id("model-version")).getText().equals("0"));

                browser.findElement(By.id("try-prompt")).sendKeys(question);
                browser.findElement(By.id("try-submit")).click();
                wait.until(b -> b.findElement(By.id("answer")).getText().contains("model version 0"));
                assertTrue(browser.findElement(By.id("answer")).getText().contains(answer));

                browser.findElement(By.id("forget-question")).sendKeys(question);
                browser.findElement(By.id("forget-answer")).sendKeys(answer);
                browser.findElement(By.id("forget-submit")).click();
                wait.until(b -> b.findElement(By.cssSelector("#log tr[data-id='1'] td.status")).getText().equals("applied"));
                assertEquals("1", browser.findElement(By.id("model-version")).getText());

                browser.findElement(By.id("try-submit")).click();
                wait.until(b -> b.findElement(By.id("answer")).getText().contains("model version 1"));
                assertFalse(browser.findElement(By.id("answer")).getText().contains(answer), browser.findElement(By.id("answer")).getText());
                wait.until(b -> b.findElement(By.cssSelector("#log tr[data-id='1'] td:nth-child(7)")).getText().equals("forgets 100%"));

                Path shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath();
                Path target = Path.of("target", "serve-page.png");
                Files.createDirectories(target.getParent());
                Files.copy(shot, target, StandardCopyOption.REPLACE_EXISTING);
                assertTrue(Files.size(target) > 10_000, "a screenshot of the page");
            } finally {
                browser.quit();
            }
            assertEquals("applied", s.ok("GET", "/v1/updates/1", token, null).json().get("status").asText());
        }
    }

}
