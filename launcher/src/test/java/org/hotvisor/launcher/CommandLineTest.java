package org.hotvisor.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CommandLineTest {
    @TempDir
    Path directory;
    private Path image;

    @BeforeEach
    void createImage() throws IOException {
        image = Files.write(directory.resolve("guest.img"), new byte[512]);
        Files.write(directory.resolve("initrd.cpio"), new byte[16]);
        Files.write(directory.resolve("extra.mod"), new byte[16]);
    }

    private LaunchOptions parse(String... arguments) throws UsageException {
        return CommandLine.parse(Arrays.asList(arguments), directory);
    }

    private String mistake(String... arguments) {
        return assertThrows(UsageException.class, () -> parse(arguments)).getMessage();
    }

    @Test
    void runWithDefaults() throws Exception {
        LaunchOptions options = parse("run", "guest.img");
        assertEquals(Command.RUN, options.command());
        assertEquals(image, options.image());
        assertEquals("auto", options.format());
        assertEquals(LaunchOptions.UNSET, options.loadAddress());
        assertEquals(LaunchOptions.UNSET, options.entry());
        assertEquals("", options.append());
        assertEquals(List.of(), options.modules());
        assertEquals(128L << 20, options.memoryBytes());
        assertFalse(options.stats());
        assertNull(options.statsJson());
        assertNull(options.trace());
        assertEquals(LaunchOptions.UNSET, options.timeoutSeconds());
        assertEquals(directory.resolve("deploy"), options.deployDirectory());
        assertEquals(List.of(), options.settings());
        assertEquals("deterministic", options.effectiveClock());
        assertEquals(1, options.cpus());
        assertEquals(LaunchOptions.NO_GDB, options.gdbPort());
    }

    @Test
    void everyOption() throws Exception {
        LaunchOptions options = parse("run", "guest.img", "--format", "FLAT", "--load-addr", "0x10000", "--entry=65552",
                "--append", "--not-an-option console=ttyS0", "--module", "extra.mod=role=a b", "--initrd", "initrd.cpio",
                "--mem", "256M", "--stats", "--stats-json", "stats.json", "--trace", "trace.txt", "--timeout", "30",
                "--deploy", "hot", "--set", "cpuid.vendor=HotvisorHV", "--set=uart.fifo=true", "--clock", "host",
                "--cpus", "2", "--gdb", "1234");
        assertEquals("flat", options.format());
        assertEquals(0x10000, options.loadAddress());
        assertEquals(65552, options.entry());
        assertEquals("--not-an-option console=ttyS0", options.append());
        assertEquals(List.of(directory.resolve("initrd.cpio").toString(), directory.resolve("extra.mod") + "=role=a b"),
                options.modules(), "--initrd first, absolute paths");
        assertEquals(256L << 20, options.memoryBytes());
        assertTrue(options.stats());
        assertEquals(directory.resolve("stats.json"), options.statsJson());
        assertEquals(directory.resolve("trace.txt"), options.trace());
        assertEquals(30, options.timeoutSeconds());
        assertEquals(directory.resolve("hot"), options.deployDirectory());
        assertEquals(List.of("cpuid.vendor=HotvisorHV", "uart.fifo=true"), options.settings());
        assertEquals("host", options.effectiveClock());
        assertEquals(2, options.cpus());
        assertEquals(1234, options.gdbPort());
    }

    @Test
    void setTakesACommaSeparatedListAndRepeats() throws Exception {
        LaunchOptions options = parse("run", "guest.img", "--set", "hlt-exiting=off, exception-bitmap=0x8",
                "--set", "io-bitmap=0x60-0x64:off", "--set=msr-bitmap=read:0xc0000080");
        assertEquals(List.of("hlt-exiting=off", "exception-bitmap=0x8", "io-bitmap=0x60-0x64:off", "msr-bitmap=read:0xc0000080"),
                options.settings());
    }

    @Test
    void optionsMayPrecedeTheImage() throws Exception {
        assertEquals(image, parse("run", "--mem", "64M", "guest.img").image());
    }

    @Test
    void noArgumentsMeansTheConsoleWithHostTime() throws Exception {
        LaunchOptions options = parse();
        assertEquals(Command.CONSOLE, options.command());
        assertNull(options.image());
        assertEquals("host", options.effectiveClock());
        assertEquals(Command.CONSOLE, parse("--mem", "64M").command());
    }

    @Test
    void consoleMayLoadAnotherImage() throws Exception {
        assertEquals(image, parse("console", "guest.img").image());
    }

    @Test
    void demoUsesTheDeterministicClock() throws Exception {
        LaunchOptions options = parse("demo", "--stats");
        assertEquals(Command.DEMO, options.command());
        assertNull(options.image());
        assertEquals("deterministic", options.effectiveClock());
    }

    @Test
    void help() throws Exception {
        assertEquals(Command.HELP, parse("--help").command());
        assertEquals(Command.HELP, parse("run", "--help").command());
        assertEquals(Command.HELP, parse("help").command());
        for (String option : List.of("--format", "--load-addr", "--entry", "--append", "--module", "--initrd", "--mem",
                "--stats", "--stats-json", "--trace", "--timeout", "--deploy", "--set", "--clock", "--cpus", "--help")) {
            assertTrue(CommandLine.USAGE.contains(option + " "), "usage documents " + option);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "128M|134217728", "1M|1048576", "1024K|1048576", "1G|1073741824", "1536M|1610612736", "64|67108864",
        "512mb|536870912", "1GiB|1073741824"})
    void memorySizes(String size, long bytes) throws Exception {
        assertEquals(bytes, parse("run", "guest.img", "--mem", size).memoryBytes());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "0x100000|1048576", "0X1F|31", "4096|4096", "0xffffffff|4294967295", "0|0"})
    void addresses(String text, long value) throws Exception {
        assertEquals(value, parse("run", "guest.img", "--load-addr", text).loadAddress());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        // every user mistake and its one-line message
        "frobnicate|unknown command 'frobnicate' (use run, demo or console; --help for usage)",
        "run|run needs an IMAGE (hotvisor run IMAGE [options])",
        "run missing.img|image not found: DIR/missing.img",
        "run guest.img other.img|unexpected argument 'other.img' (one IMAGE only)",
        "demo guest.img|demo takes no IMAGE: use 'hotvisor run DIR/guest.img'",
        "run guest.img --frobnicate|unknown option '--frobnicate' (see --help)",
        "run guest.img -m 64|unknown option '-m' (options start with --; see --help)",
        "run guest.img --mem|--mem needs a value",
        "run guest.img --mem --stats|--mem needs a value",
        "run guest.img --stats=yes|--stats takes no value",
        "run guest.img --format coff|--format: unknown value 'coff' (use auto, boot, elf, flat, multiboot)",
        "run guest.img --clock wall|--clock: unknown value 'wall' (use deterministic, host)",
        "run guest.img --load-addr 0xZZ|--load-addr: '0xZZ' is not a number (use decimal or 0x hex)",
        "run guest.img --entry 0x100000000|--entry: 0x100000000 is not a 32-bit physical address (0 to 0xffffffff)",
        "run guest.img --entry -5|--entry: -5 is not a 32-bit physical address (0 to 0xffffffff)",
        "run guest.img --mem 12X|--mem: '12X' is not a size (use e.g. 128M or 1G)",
        "run guest.img --mem 512K|--mem: 512K is less than the minimum of 1M",
        "run guest.img --mem 0|--mem: 0 is less than the minimum of 1M",
        "run guest.img --mem 2G|--mem: 2G is more than the maximum of 1536M (guest RAM is one Java byte array)",
        "run guest.img --mem 99999999999G|--mem: '99999999999G' is not a size (use e.g. 128M or 1G)",
        "run guest.img --timeout soon|--timeout: 'soon' is not a whole number of seconds",
        "run guest.img --timeout 0|--timeout: must be between 1 and 2147483647 seconds, not 0",
        "run guest.img --cpus 0|--cpus: must be between 1 and 255 vCPUs, not 0",
        "run guest.img --cpus many|--cpus: 'many' is not a whole number of vCPUs",
        "run guest.img --gdb|--gdb needs a value",
        "run guest.img --gdb tcp|--gdb: 'tcp' is not a TCP port number",
        "run guest.img --gdb 0|--gdb: a TCP port is 1 to 65535, not 0",
        "run guest.img --gdb 65536|--gdb: a TCP port is 1 to 65535, not 65536",
        "run guest.img --set novalue|--set: expected NAME=VALUE, got 'novalue'",
        "run guest.img --set =x|--set: expected NAME=VALUE, got '=x'",
        "run guest.img --set a/b=c|--set: 'a/b' is not a property name (letters, digits, '.', '_', '-')",
        "run guest.img --module absent.mod|--module: file not found: DIR/absent.mod",
        "run guest.img --initrd absent.cpio|--initrd: file not found: DIR/absent.cpio",
        "run guest.img --initrd initrd.cpio --initrd initrd.cpio|--initrd given twice (add more files with --module)",
        "run guest.img --trace nodir/trace.txt|--trace: directory not found: DIR/nodir",
        "run guest.img --stats-json .|--stats-json: DIR is a directory",
        "console --timeout 5|--timeout applies to run and demo, not to the console",
        "run .|image is a directory: DIR",
    })
    void mistakes(String arguments, String message) {
        assertEquals(message.replace("DIR", directory.toString()), mistake(arguments.split(" ")));
    }

    @Test
    void commaInASettingIsRefusedBecauseTheListIsCommaSeparated() {
        assertEquals("--set: expected NAME=VALUE, got '2'", mistake("run", "guest.img", "--set", "a=1,2"));
        assertEquals("--set: a value may not contain a line break", mistake("run", "guest.img", "--set", "a=1\nb=2"));
    }

    @Test
    void anImageNamedAsACommandGetsAHint() {
        assertEquals("unknown command 'guest.img' (use run, demo or console; --help for usage): to boot it, use 'hotvisor run guest.img'",
                mistake("guest.img"));
    }
}
