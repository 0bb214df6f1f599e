package org.hotvisor.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hotvisor.launcher.fake.FakeDeviceActivator;
import org.hotvisor.launcher.fake.FakeFailingComponent;
import org.hotvisor.launcher.fake.FakeKernelActivator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher end to end with a real Felix and stand-in kernel bundles. */
class LauncherTest {
    @TempDir
    Path directory;
    private Path bundles;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @BeforeEach
    void prepare() throws IOException {
        bundles = Files.createDirectory(directory.resolve("bundles"));
        Files.write(directory.resolve("guest.img"), new byte[512]);
    }

    @AfterEach
    void resetWatchdog() {
        System.clearProperty(Launcher.WATCHDOG_PROPERTY);
    }

    private int launch(String... arguments) {
        Distribution distribution = new Distribution(directory, bundles, directory);
        return new Launcher(distribution, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), directory).run(List.of(arguments));
    }

    private String errors() {
        return err.toString(StandardCharsets.UTF_8);
    }

    private void fakeKernel() throws IOException {
        FakeBundles.bundle(bundles, "org.hotvisor.kernel",
                Map.of("Bundle-Activator", FakeKernelActivator.class.getName(), "Import-Package", "org.osgi.framework"),
                new Class<?>[] {FakeKernelActivator.class}, Map.of());
    }

    /** A kernel bundle whose only component is described by {@code componentXml}; SCR installed beside it. */
    private void componentKernel(String componentXml) throws IOException {
        FakeBundles.copyDeclarativeServices(bundles);
        FakeBundles.bundle(bundles, "org.hotvisor.kernel", Map.of("Service-Component", "OSGI-INF/vm.xml"),
                new Class<?>[] {FakeFailingComponent.class}, Map.of("OSGI-INF/vm.xml", componentXml));
    }

    @Test
    void theKernelsOutcomeIsTheExitStatusAndItsMessageOneLineOnStderr() throws IOException {
        fakeKernel();
        assertEquals(7, launch("run", "guest.img", "--set", "fake.behaviour=result:7:guest stopped: triple fault"));
        assertEquals("hotvisor: guest stopped: triple fault" + System.lineSeparator(), errors());
    }

    @Test
    void theHotvisorBundlesStartOnTwoThreadsAndAllBeforeTheKernel() throws IOException {
        for (int i = 1; i <= 4; i++) {
            FakeBundles.bundle(bundles, "org.hotvisor.fake.device" + i,
                    Map.of("Bundle-Activator", FakeDeviceActivator.class.getName(), "Import-Package", "org.osgi.framework"),
                    new Class<?>[] {FakeDeviceActivator.class}, Map.of());
        }
        fakeKernel();
        assertEquals(0, launch("run", "guest.img", "--set", "fake.behaviour=census"), errors());
        Set<String> threads = new TreeSet<>();
        for (int i = 1; i <= 4; i++) {
            Matcher m = Pattern.compile("org\\.hotvisor\\.fake\\.device" + i + "@(\\S+)").matcher(errors());
            assertTrue(m.find(), "device " + i + " had started when the kernel did: " + errors());
            threads.add(m.group(1));
        }
        assertEquals(2, threads.size(), "the devices' starting threads: " + threads);
    }

    @Test
    void aHotvisorBundleThatFailsToStartOnTheSecondThreadStopsTheRunBeforeTheKernel() throws IOException {
        // install order is by file name: the main thread takes the slow device, the second thread the broken one
        FakeBundles.bundle(bundles, "org.hotvisor.fake.a-slow",
                Map.of("Bundle-Activator", FakeDeviceActivator.class.getName(), "Import-Package", "org.osgi.framework"),
                new Class<?>[] {FakeDeviceActivator.class}, Map.of());
        FakeBundles.bundle(bundles, "org.hotvisor.fake.b-broken", Map.of("Bundle-Activator", "org.hotvisor.fake.NoSuchActivator"),
                new Class<?>[0], Map.of());
        fakeKernel();
        assertEquals(3, launch("run", "guest.img", "--set", "fake.behaviour=result:0:the kernel ran"));
        String message = errors();
        assertTrue(message.startsWith("hotvisor: internal error: bundle org.hotvisor.fake.b-broken failed to start: "), message);
        assertTrue(message.lines().count() == 1, "one line, no stack trace: " + message);
        assertTrue(!message.contains("the kernel ran"), "the kernel never started: " + message);
    }

    @Test
    void anEmptyMessagePrintsNothing() throws IOException {
        fakeKernel();
        assertEquals(0, launch("run", "guest.img", "--set", "fake.behaviour=result:0:"));
        assertEquals("", errors());
    }

    @Test
    void theRunRequestReachesTheKernelAsFrameworkProperties() throws IOException {
        fakeKernel();
        Files.write(directory.resolve("initrd"), new byte[1]);
        Files.write(directory.resolve("mod"), new byte[1]);
        assertEquals(0, launch("run", "guest.img", "--set", "fake.behaviour=echo", "--set", "x=1", "--format", "flat",
                "--load-addr", "0x10000", "--append", "quiet", "--module", "mod=a b", "--initrd", "initrd", "--mem", "2M",
                "--stats", "--stats-json", "s.json", "--trace", "t.txt", "--clock", "host", "--cpus", "2"));
        String dir = directory.toString();
        assertEquals("hotvisor: hotvisor.mode=run | hotvisor.image=" + dir + "/guest.img | hotvisor.format=flat"
                + " | hotvisor.loadAddr=65536 | hotvisor.entry=-1 | hotvisor.append=quiet"
                + " | hotvisor.modules=" + dir + "/initrd\\n" + dir + "/mod=a b | hotvisor.mem=2097152 | hotvisor.stats=true"
                + " | hotvisor.statsJson=" + dir + "/s.json | hotvisor.trace=" + dir + "/t.txt"
                + " | hotvisor.set=fake.behaviour=echo,x=1 | hotvisor.clock=host | hotvisor.cpus=2" + System.lineSeparator(),
                errors());
        assertTrue(Files.isDirectory(directory.resolve("deploy")), "the default deploy folder is created");
    }

    @Test
    void timeoutStopsTheRunWithStatus124() throws IOException {
        fakeKernel();
        assertEquals(124, launch("run", "guest.img", "--set", "fake.behaviour=hang", "--timeout", "1"));
        assertEquals("hotvisor: timeout after 1 s" + System.lineSeparator(), errors());
    }

    @Test
    void aKernelBundleThatFailsToStartIsAnInternalError() throws IOException {
        fakeKernel();
        assertEquals(3, launch("run", "guest.img", "--set", "fake.behaviour=fail"));
        String message = errors();
        assertTrue(message.startsWith("hotvisor: internal error: bundle org.hotvisor.kernel failed to start: "), message);
        assertTrue(message.contains("the fake kernel refuses to start"), message);
        assertTrue(message.lines().count() == 1, "one line, no stack trace: " + message);
    }

    @Test
    void aKernelComponentThatFailsToActivateIsAnInternalError() throws IOException {
        componentKernel("""
                <scr:component xmlns:scr="http://www.osgi.org/xmlns/scr/v1.3.0" name="org.hotvisor.kernel.Vm"
                    immediate="true" activate="activate">
                  <implementation class="org.hotvisor.launcher.fake.FakeFailingComponent"/>
                </scr:component>
                """);
        assertEquals(3, launch("run", "guest.img"));
        String message = errors();
        assertTrue(message.contains("hotvisor: internal error: component org.hotvisor.kernel.Vm failed to activate: "), message);
        assertTrue(message.contains("no VMX processor here"), message);
    }

    @Test
    void aKernelWaitingForAMissingServiceIsNamedWhenTheWatchdogFires() throws IOException {
        componentKernel("""
                <scr:component xmlns:scr="http://www.osgi.org/xmlns/scr/v1.3.0" name="org.hotvisor.kernel.Vm" immediate="true">
                  <implementation class="org.hotvisor.launcher.fake.FakeFailingComponent"/>
                  <reference name="processor" interface="org.hotvisor.api.vmx.VmxProcessor" cardinality="1..1"/>
                </scr:component>
                """);
        System.setProperty(Launcher.WATCHDOG_PROPERTY, "0.5");
        assertEquals(3, launch("run", "guest.img"));
        assertEquals("hotvisor: internal error: the kernel registered no VM within the start-up watchdog period: "
                + "component org.hotvisor.kernel.Vm is waiting for org.hotvisor.api.vmx.VmxProcessor (reference processor)"
                + System.lineSeparator(), errors());
    }

    @Test
    void noKernelBundleIsAnInternalError() {
        assertEquals(3, launch("run", "guest.img"));
        assertEquals("hotvisor: internal error: the kernel bundle (org.hotvisor.kernel) is not among the bundles in " + bundles
                + System.lineSeparator(), errors());
    }

    @Test
    void noBundleFolderIsAnInternalError() throws IOException {
        Files.delete(bundles);
        assertEquals(3, launch("run", "guest.img"));
        assertTrue(errors().startsWith("hotvisor: internal error: bundle folder not found: " + bundles), errors());
    }

    @Test
    void aMissingDemoGuestIsAnInternalError() {
        assertEquals(3, launch("demo"));
        assertTrue(errors().startsWith("hotvisor: internal error: the demo guest is missing: "), errors());
    }

    @Test
    void aCommandLineMistakeIsStatus2AndStartsNothing() {
        assertEquals(2, launch("run", "guest.img", "--mem", "lots"));
        assertEquals("hotvisor: --mem: 'lots' is not a size (use e.g. 128M or 1G)" + System.lineSeparator(), errors());
        assertTrue(Files.notExists(directory.resolve("deploy")));
    }

    @Test
    void helpPrintsTheUsageOnStdout() {
        assertEquals(0, launch("--help"));
        assertEquals(CommandLine.USAGE, out.toString(StandardCharsets.UTF_8));
        assertEquals("", errors());
    }
}
